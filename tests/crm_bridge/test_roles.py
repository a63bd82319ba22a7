"""The CRM's pure decisions, without I/O: who a client is to the CRM (matching), what a
conversion makes of a lead, where a deal moves, the deal a known contact's conversation opens,
and how storage reads a ``field -> expected`` filter."""

from __future__ import annotations

import pytest

from crm_bridge.conversion import (
    DealTerms,
    company_from,
    contact_from,
    converted_refs,
    deal_from,
    ensure_something_to_convert,
)
from crm_bridge.deals import stage_move
from crm_bridge.linking import contact_deal
from crm_bridge.matching import Identity, maybe_same_person, same_person
from crm_bridge.models import (
    DEFAULT_PIPELINE_ID,
    DEFAULT_STAGES,
    OPEN_LEAD,
    Contact,
    Deal,
    Lead,
    Pipeline,
    Stage,
)
from crm_bridge.storage import as_filter
from hub.errors import ValidationFailed
from hub.models import ChannelRef, Client, ClientInfo, Conversation, Role, User


def _pipeline() -> Pipeline:
    return Pipeline(
        id=DEFAULT_PIPELINE_ID,
        name="Sales",
        stages=[Stage(id=i, name=n, semantic=s) for i, n, s in DEFAULT_STAGES],
    )


def _manager() -> User:
    return User(
        id="u-manager", email="m@example.com", name="Mia", role=Role.MANAGER, password_hash="-"
    )


def _lead(**fields: object) -> Lead:
    data: dict[str, object] = {
        "title": "Website chat: Ann",
        "name": "Ann",
        "emails": ["ann@example.com"],
        "phones": ["+79123456789"],
        "unverified_emails": ["ann@example.com"],
        "client_ids": ["c1"],
        "conversation_ids": ["conv1", "conv2"],
    }
    data.update(fields)
    return Lead.model_validate(data)


# --- matching ------------------------------------------------------------------------------


def test_a_typed_address_is_a_claim_and_a_proven_one_an_identity() -> None:
    typed = Identity.of("c1", Client(id="c1", email=" Ann@Example.com ", phone="8 912 345-67-89"))
    assert typed.proven_emails == () and typed.claimed_emails == ("ann@example.com",)
    assert typed.claimed_phones == ("+79123456789",)
    # Only the client itself matches: a claimed address joins nobody.
    assert same_person(typed) == {"$or": [{"client_ids": "c1"}]}
    assert maybe_same_person(typed) == {
        "$or": [{"emails": {"$in": ["ann@example.com"]}}, {"phones": {"$in": ["+79123456789"]}}]
    }

    mailed = Identity.of("c2", Client(id="c2", email="bob@example.com", email_verified=True))
    assert mailed.proven_emails == ("bob@example.com",) and mailed.claimed_emails == ()
    assert same_person(mailed) == {
        "$or": [
            {"client_ids": "c2"},
            # A proven address matches only where the record's address is no claim itself.
            {"emails": "bob@example.com", "unverified_emails": {"$ne": "bob@example.com"}},
        ]
    }


def test_without_a_stored_client_what_the_conversation_shows_proves_nothing() -> None:
    shown = Identity.of("c3", None, ClientInfo(id="c3", email="eve@example.com"))
    assert shown.proven_emails == () and shown.emails == ["eve@example.com"]
    assert maybe_same_person(Identity.of("c4", None)) is None


# --- conversion ----------------------------------------------------------------------------


def test_a_conversion_must_make_something() -> None:
    with pytest.raises(ValidationFailed):
        ensure_something_to_convert(False, None, None)
    ensure_something_to_convert(False, "Acme", None)
    ensure_something_to_convert(False, None, DealTerms(title="Deal"))


def test_the_contact_takes_the_leads_person_on() -> None:
    lead, actor = _lead(), _manager()
    company = company_from(lead, "Acme", actor)
    assert company.responsible_id == actor.id  # nobody was responsible for the lead
    contact = contact_from(lead, company, actor)
    assert (contact.name, contact.emails, contact.phones) == (
        "Ann",
        ["ann@example.com"],
        ["+79123456789"],
    )
    assert contact.client_ids == ["c1"] and contact.conversation_ids == ["conv1", "conv2"]
    assert (contact.company_id, contact.lead_id) == (company.id, lead.id)
    owned = _lead(responsible_id="u-operator")
    assert contact_from(owned, None, actor).responsible_id == "u-operator"
    assert contact_from(owned, None, actor).company_id is None


def test_the_deal_of_a_conversion_starts_in_the_first_stage() -> None:
    lead, actor = _lead(), _manager()
    contact = contact_from(lead, None, actor)
    terms = DealTerms(title="Big", amount=100.0, currency="RUB")
    deal = deal_from(lead, terms, _pipeline(), contact, None, actor)
    assert (deal.stage, deal.pipeline_id) == ("new", DEFAULT_PIPELINE_ID)
    assert (deal.contact_id, deal.company_id, deal.lead_id) == (contact.id, None, lead.id)
    assert (deal.amount, deal.currency) == (100.0, "RUB")
    assert deal.conversation_ids == lead.conversation_ids
    assert converted_refs(lead, contact, None, deal) == [
        f"leads:{lead.id}",
        f"contacts:{contact.id}",
        f"deals:{deal.id}",
    ]


# --- deals ---------------------------------------------------------------------------------


def test_a_won_or_lost_stage_closes_the_deal_and_an_open_one_reopens_it() -> None:
    pipeline = _pipeline()
    deal = Deal(title="Big", pipeline_id=pipeline.id, stage="new")
    assert stage_move(pipeline, deal, "new") is None
    won = stage_move(pipeline, deal, "won")
    assert won is not None
    assert won.changes == {"stage": "won", "closed": True, "won": True}
    assert won.change == {"from": "new", "to": "won", "from_name": "New", "to_name": "Won"}
    lost = stage_move(pipeline, deal, "lost")
    assert lost is not None and lost.changes == {"stage": "lost", "closed": True, "won": False}
    closed = Deal(title="Big", pipeline_id=pipeline.id, stage="won", closed=True, won=True)
    reopened = stage_move(pipeline, closed, "invoice")
    assert reopened is not None
    assert reopened.changes == {"stage": "invoice", "closed": False, "won": None}


def test_a_stage_the_pipeline_has_not_is_refused_naming_the_ones_it_has() -> None:
    pipeline = _pipeline()
    with pytest.raises(ValidationFailed) as refused:
        stage_move(pipeline, Deal(title="Big", pipeline_id=pipeline.id, stage="new"), "nope")
    assert refused.value.code == "unknown_stage"
    # A deal in a stage since removed still moves, named by its id.
    gone = stage_move(pipeline, Deal(title="Big", pipeline_id=pipeline.id, stage="old"), "new")
    assert gone is not None and gone.change["from_name"] == "old"


# --- linking -------------------------------------------------------------------------------


def test_a_known_contacts_new_conversation_opens_a_deal_of_theirs() -> None:
    contact = Contact(name="Ann", company_id="co1", responsible_id="u-manager")
    conversation = Conversation(
        line_id="l1",
        channel=ChannelRef(id="ch1", type="telegram"),
        chat_id="42",
        client=ClientInfo(id="c1", name="Annie"),
    )
    deal = contact_deal(contact, conversation, _pipeline())
    assert (deal.title, deal.stage) == ("Сделка / Deal: Ann", "new")
    assert (deal.contact_id, deal.company_id, deal.responsible_id) == (
        contact.id,
        "co1",
        "u-manager",
    )
    assert deal.conversation_ids == [conversation.id]
    unnamed = contact_deal(Contact(), conversation, _pipeline())
    assert unnamed.title == "Сделка / Deal: Annie"


# --- storage filters -----------------------------------------------------------------------


def test_storage_reads_a_tuple_as_one_of_and_enums_as_their_values() -> None:
    assert as_filter({"status": OPEN_LEAD, "stage": "new", "responsible_id": None}) == {
        "status": {"$in": ["new", "in_progress"]},
        "stage": "new",
        "responsible_id": None,
    }
