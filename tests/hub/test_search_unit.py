"""The words a message is found by, and the snippet that shows where (pure)."""

from __future__ import annotations

from hub.search import MAX_WORDS, query_words, snippet, words


def test_words_are_case_folded_with_yo_read_as_ie() -> None:
    assert words("Ёлка, ЗАКАЗ №42 доставлен!") == ["елка", "заказ", "42", "доставлен"]


def test_each_word_once_one_letters_left_out_digits_kept() -> None:
    assert words("a b 7 order Order ORDER x") == ["7", "order"]


def test_a_long_text_is_indexed_by_its_first_words() -> None:
    assert len(words(" ".join(f"w{i}" for i in range(MAX_WORDS + 50)))) == MAX_WORDS


def test_query_words_are_prefixes_in_the_same_form() -> None:
    assert query_words("  Заказ  ДОСТ ") == ["заказ", "дост"]
    assert query_words("ёж") == ["еж"]
    assert query_words("!!!") == []


def test_snippet_marks_every_matching_word() -> None:
    text = "Ваш заказ доставлен, спасибо за заказ"
    found = snippet(text, ["заказ"])
    assert found.text == text
    assert [found.text[s:e] for s, e in found.highlights] == ["заказ", "заказ"]


def test_snippet_of_a_long_text_is_cut_around_the_first_match_at_words() -> None:
    text = "intro " * 30 + "the Parcel arrived " + "tail " * 30
    found = snippet(text, ["parc"])
    assert found.text.startswith("…") and found.text.endswith("…")
    assert len(found.text) < len(text)
    (span,) = found.highlights
    assert found.text[span[0] : span[1]] == "Parcel"
    assert " intr" not in found.text[:2]  # begins at a word


def test_snippet_without_a_match_is_the_start() -> None:
    assert snippet("hello there", ["zzz"]).highlights == []
    assert snippet("hello there", ["zzz"]).text == "hello there"
