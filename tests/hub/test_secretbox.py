"""Secrets at rest: sealed with a key from the secret key, readable only with it."""

from __future__ import annotations

import pytest

from hub.secretbox import PREFIX, SecretBox, SecretBoxError


def test_a_sealed_value_opens_with_the_same_key_only() -> None:
    box = SecretBox(b"key one")
    sealed = box.seal("123456:bot-token")
    assert sealed.startswith(PREFIX) and "bot-token" not in sealed
    assert box.open(sealed) == "123456:bot-token"
    assert box.seal("123456:bot-token") != sealed  # a fresh nonce every time
    assert box.seal(sealed) == sealed  # sealing twice changes nothing
    with pytest.raises(SecretBoxError):
        SecretBox(b"key two").open(sealed)
    with pytest.raises(SecretBoxError):
        box.open(sealed[:-4] + "AAAA")


def test_fields_are_sealed_and_values_in_clear_read_as_they_are() -> None:
    box = SecretBox(b"k")
    config = {"bot_token": "t", "mode": "webhook", "empty": ""}
    sealed = box.seal_fields(config, {"bot_token", "empty", "missing"})
    assert sealed["mode"] == "webhook" and sealed["empty"] == ""
    assert SecretBox.sealed(sealed["bot_token"])
    assert box.open_fields(sealed, {"bot_token"}) == config
    assert box.open_fields(config, {"bot_token"}) == config  # stored before encryption
