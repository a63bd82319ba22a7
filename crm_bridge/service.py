"""The CRM domain: records, matching people, linking conversations, conversion, deals and
their stages, the timeline, and who may see what. REST handlers and rules both call it.

Which conversations a CRM path shows or writes to is decided by the one access rule,
``hub.access.may_see``: a contact spanning several lines shows each caller only the
conversations they may see, and writes only into those."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from crm_bridge.documents import Reader, checked, merged
from crm_bridge.matching import Identity, maybe_same_person, same_person
from crm_bridge.models import (
    MAX_SUGGESTIONS,
    MAX_TITLE,
    Activity,
    Company,
    Contact,
    Deal,
    Entity,
    Lead,
    LeadStatus,
    Pipeline,
    StageSemantic,
    WebhookEvent,
    ref,
)
from crm_bridge.normalize import blocked, normalize_phone
from crm_bridge.store import DEFAULT_PIPELINE_ID, CrmStore
from crm_bridge.webhooks import Webhooks
from hub.access import may_see, oversees
from hub.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hub.events import ConversationChange
from hub.models import (
    Author,
    AuthorType,
    Client,
    Conversation,
    ConversationStatus,
    Doc,
    Line,
    Role,
    User,
    utcnow,
)
from hub.services import Hub
from hub.stream import Appended

log = logging.getLogger("openlines.crm")

R = TypeVar("R", bound=Doc)
_MODELS: dict[Entity, type[Doc]] = {
    Entity.LEADS: Lead,
    Entity.CONTACTS: Contact,
    Entity.COMPANIES: Company,
    Entity.DEALS: Deal,
}
# Leads that still represent an unknown person (a new conversation may join them).
OPEN_LEAD = [LeadStatus.NEW.value, LeadStatus.IN_PROGRESS.value]
READERS = (Role.ADMIN, Role.MANAGER, Role.SUPERVISOR)
EDITORS = (Role.ADMIN, Role.MANAGER)
MAX_VISIBLE_CONVERSATIONS = 5000
# How many of a record's conversations an access check or a write looks through.
MAX_CHECKED_CONVERSATIONS = 1000
MAX_TIMELINE_ACTIVITIES = 1000
MAX_TIMELINE_CONVERSATIONS = 500
# Fields a visibility check does not need (kept out of the bulk loads).
_HEAVY_FIELDS = {"last_message": 0, "csat": 0, "client_unreachable": 0}


class Crm:
    def __init__(self, hub: Hub, store: CrmStore, webhooks: Webhooks, reader: Reader) -> None:
        self.hub = hub
        self.store = store
        self.webhooks = webhooks
        self.reader = reader

    def collection(self, entity: Entity) -> AsyncCollection[dict[str, object]]:
        return {
            Entity.LEADS: self.store.leads,
            Entity.CONTACTS: self.store.contacts,
            Entity.COMPANIES: self.store.companies,
            Entity.DEALS: self.store.deals,
        }[entity]

    def model(self, entity: Entity) -> type[Doc]:
        return _MODELS[entity]

    # --- loading and access ----------------------------------------------------------------

    async def load(self, entity: Entity, record_id: str) -> Doc:
        """The record, repaired in memory if its stored document does not load."""
        doc = await self.collection(entity).find_one({"_id": record_id})
        if doc is None:
            raise NotFound(f"no such {entity.value[:-1]}")
        record, _ = self.reader.repair(_MODELS[entity], doc)
        return record

    async def lead(self, lead_id: str) -> Lead:
        return _as(Lead, await self.load(Entity.LEADS, lead_id))

    async def contact(self, contact_id: str) -> Contact:
        return _as(Contact, await self.load(Entity.CONTACTS, contact_id))

    async def deal(self, deal_id: str) -> Deal:
        return _as(Deal, await self.load(Entity.DEALS, deal_id))

    async def pipeline(self, pipeline_id: str | None) -> Pipeline:
        doc = await self.store.pipelines.find_one({"_id": pipeline_id or DEFAULT_PIPELINE_ID})
        if doc is None:
            raise ValidationFailed("no such pipeline", code="unknown_pipeline")
        pipeline, _ = self.reader.repair(Pipeline, doc)
        return pipeline

    async def ensure_may_read(self, user: User, record: Doc) -> None:
        if user.role in READERS:
            return
        if not await self._sees_any(user, _conversation_ids(record)):
            raise Forbidden("this CRM record belongs to conversations you cannot see")

    async def ensure_may_edit(self, user: User, record: Doc) -> None:
        """Managers and admins edit everything; operators the records of their chats."""
        if user.role in EDITORS:
            return
        if user.role == Role.OPERATOR and await self._sees_any(user, _conversation_ids(record)):
            return
        raise Forbidden("your role may not change this CRM record")

    async def _sees_any(self, user: User, conversation_ids: list[str]) -> bool:
        if not conversation_ids:
            return False
        docs = await self.hub.store.conversations.find(
            {"_id": {"$in": conversation_ids[:MAX_CHECKED_CONVERSATIONS]}}, _HEAVY_FIELDS
        ).to_list()
        return bool(await self.visible(user, docs, first_only=True))

    async def visible(
        self, user: User, docs: Iterable[Mapping[str, Any]], *, first_only: bool = False
    ) -> list[Conversation]:
        """The conversations of ``docs`` that ``user`` may see (the one rule, per line)."""
        lines: dict[str, Line | None] = {}
        seen: list[Conversation] = []
        for doc in docs:
            conversation = Conversation.from_doc(dict(doc))
            if conversation.line_id not in lines:
                lines[conversation.line_id] = await self.hub.conversations.line(
                    conversation.line_id
                )
            if may_see(user, conversation, lines[conversation.line_id]):
                seen.append(conversation)
                if first_only:
                    break
        return seen

    async def visibility_filter(self, user: User) -> dict[str, Any]:
        """A query narrowing a list to what ``user`` may read (empty: everything)."""
        if user.role in READERS:
            return {}
        lines = await self.hub.store.lines.find(
            {"$or": [{"operators": user.id}, {"supervisors": user.id}]}
        ).to_list()
        supervised = [d["_id"] for d in lines if user.id in d.get("supervisors", [])]
        operated = [d["_id"] for d in lines if user.id in d.get("operators", [])]
        # Every conversation ``may_see`` could admit (a superset); the rule itself decides.
        docs = (
            await self.hub.store.conversations.find(
                {
                    "$or": [
                        {"assignee_id": user.id},
                        {"participants.user_id": user.id},
                        {"offered_to": user.id},
                        {"line_id": {"$in": supervised}},
                        {
                            "line_id": {"$in": operated},
                            "status": {
                                "$in": [
                                    ConversationStatus.QUEUED.value,
                                    ConversationStatus.OFFERED.value,
                                ]
                            },
                        },
                    ]
                },
                _HEAVY_FIELDS,
            )
            .limit(MAX_VISIBLE_CONVERSATIONS)
            .to_list()
        )
        seen = await self.visible(user, docs)
        return {"conversation_ids": {"$in": [c.id for c in seen]}}

    # --- writing records -------------------------------------------------------------------

    async def insert(self, entity: Entity, record: Doc, *, actor_id: str | None = None) -> None:
        record = checked(record)
        await self.collection(entity).insert_one(record.to_doc())
        event = {
            Entity.LEADS: WebhookEvent.LEAD_CREATED,
            Entity.CONTACTS: WebhookEvent.CONTACT_CREATED,
            Entity.DEALS: WebhookEvent.DEAL_CREATED,
        }.get(entity)
        if event is not None:
            await self.webhooks.emit(event, record.model_dump(mode="json"))
        await self.activity(
            f"{entity.value[:-1]}_created", [ref(entity, record.id)], actor_id=actor_id
        )

    async def update(
        self,
        entity: Entity,
        record_id: str,
        changes: Mapping[str, Any],
        *,
        add: Mapping[str, Iterable[Any]] | None = None,
    ) -> Doc:
        """Set ``changes`` and add ``add`` to list fields; the record as it is now."""
        record = await self.update_if(entity, record_id, {}, changes, add=add)
        if record is None:
            raise NotFound(f"no such {entity.value[:-1]}")
        return record

    async def update_if(
        self,
        entity: Entity,
        record_id: str,
        where: Mapping[str, Any],
        changes: Mapping[str, Any],
        *,
        add: Mapping[str, Iterable[Any]] | None = None,
    ) -> Doc | None:
        """``update`` while the stored record also matches ``where`` (None when it does not).

        The record as it will be is validated whole first (422 naming the field, nothing
        written); the write itself is atomic (``$set`` of the validated fields, ``$addToSet``),
        so concurrent rules lose nothing. A stored document that did not load is rewritten
        whole, repaired."""
        model = _MODELS[entity]
        collection = self.collection(entity)
        doc = await collection.find_one({"_id": record_id})
        if doc is None:
            raise NotFound(f"no such {entity.value[:-1]}")
        current, intact = self.reader.repair(model, doc)
        changes = {**changes, "updated_at": utcnow()}
        stored = merged(current, changes, add).to_doc()
        update: dict[str, Any]
        if intact:
            update = {"$set": {name: stored[name] for name in changes}}
            additions = {
                name: {"$each": [v for v in values if v in stored[name]]}
                for name, values in (add or {}).items()
                if values and name not in changes  # one operator per field: $set wins
            }
            if additions:
                update["$addToSet"] = additions
        else:
            stored.pop("_id")
            update = {"$set": stored}
        after = await collection.find_one_and_update(
            {**where, "_id": record_id}, update, return_document=ReturnDocument.AFTER
        )
        if after is None:
            return None
        record, _ = self.reader.repair(model, after)
        return record

    async def activity(
        self,
        type_: str,
        refs: list[str],
        *,
        text: str | None = None,
        data: dict[str, Any] | None = None,
        conversation_id: str | None = None,
        actor_id: str | None = None,
    ) -> Activity:
        entry = Activity(
            type=type_,
            refs=refs,
            text=text,
            data=data or {},
            conversation_id=conversation_id,
            actor_id=actor_id,
        )
        await self.store.activities.insert_one(entry.to_doc())
        return entry

    # --- people ----------------------------------------------------------------------------

    async def find_contact(self, identity: Identity) -> Contact | None:
        """The contact ``identity`` is known to be (never one a claimed address names)."""
        doc = await self.store.contacts.find_one(same_person(identity), sort=[("_id", 1)])
        return self.reader.repair(Contact, doc)[0] if doc else None

    async def find_open_lead(self, identity: Identity) -> Lead | None:
        doc = await self.store.leads.find_one(
            {**same_person(identity), "status": {"$in": OPEN_LEAD}}, sort=[("_id", 1)]
        )
        return self.reader.repair(Lead, doc)[0] if doc else None

    async def possible_contacts(self, identity: Identity) -> list[str]:
        """Ids of the contacts any address of ``identity`` names: suggestions for staff."""
        query = maybe_same_person(identity)
        if query is None:
            return []
        docs = (
            await self.store.contacts.find(query, {"_id": 1})
            .sort("_id", 1)
            .limit(MAX_SUGGESTIONS)
            .to_list()
        )
        return [str(d["_id"]) for d in docs]

    async def client(self, client_id: str) -> Client | None:
        doc = await self.hub.store.clients.find_one({"_id": client_id})
        return Client.from_doc(doc) if doc else None

    async def blocklist(self, line_id: str) -> list[str]:
        """Addresses and ``@domains`` on the blocklists of the line's (email) channels."""
        return await self.hub.store.channels.blocklist(line_id)

    # --- linking conversations -------------------------------------------------------------

    async def link(
        self,
        conversation_id: str,
        *,
        lead_id: str | None = None,
        contact_id: str | None = None,
        deal_id: str | None = None,
        actor_id: str | None = None,
    ) -> Conversation | None:
        """Point the conversation at CRM records; the console hears it (ConversationChanged)."""
        changes = {
            f"crm.{name}": value
            for name, value in (
                ("lead_id", lead_id),
                ("contact_id", contact_id),
                ("deal_id", deal_id),
            )
            if value is not None
        }
        if not changes:
            return None
        return await self.hub.conversations.transition(
            conversation_id,
            {},
            {"$set": changes},
            change=ConversationChange.CRM_LINKED,
            actor_id=actor_id,
        )

    async def link_to_contact(
        self, conversation: Conversation, contact: Contact, line: Line | None
    ) -> None:
        """A known person (``find_contact``): the conversation joins the contact (and its open
        deal, or a new one when the line says so)."""
        await self.update(
            Entity.CONTACTS,
            contact.id,
            {},
            add={"client_ids": [conversation.client.id], "conversation_ids": [conversation.id]},
        )
        deal_doc = await self.store.deals.find_one(
            {"contact_id": contact.id, "closed": False}, sort=[("_id", -1)]
        )
        deal_id: str | None = None
        if deal_doc is not None:
            deal_id = str(deal_doc["_id"])
            await self.update(
                Entity.DEALS, deal_id, {}, add={"conversation_ids": [conversation.id]}
            )
        elif line is not None and line.crm.deal_for_existing_contact:
            pipeline = await self.pipeline(line.crm.pipeline_id)
            who = contact.name or conversation.client.name or "client"
            deal = Deal(
                title=f"Deal: {who}"[:MAX_TITLE],
                pipeline_id=pipeline.id,
                stage=pipeline.stages[0].id,
                contact_id=contact.id,
                company_id=contact.company_id,
                responsible_id=contact.responsible_id,
                conversation_ids=[conversation.id],
            )
            await self.insert(Entity.DEALS, deal)
            deal_id = deal.id
        await self.link(conversation.id, contact_id=contact.id, deal_id=deal_id)
        refs = [ref(Entity.CONTACTS, contact.id)]
        if deal_id:
            refs.append(ref(Entity.DEALS, deal_id))
        await self.activity(
            "conversation_opened",
            refs,
            text=f"Conversation on {conversation.channel.type}",
            data={"channel": conversation.channel.model_dump()},
            conversation_id=conversation.id,
        )

    # --- conversion and deals --------------------------------------------------------------

    async def convert(
        self,
        lead: Lead,
        *,
        contact: bool,
        company_title: str | None,
        deal: dict[str, Any] | None,
        actor: User,
    ) -> dict[str, Any]:
        if not (contact or company_title or deal):
            raise ValidationFailed("convert to at least one of contact, company, deal")
        if deal is not None:
            pipeline = await self.pipeline(deal.get("pipeline_id"))
        claimed = await self.update_if(
            Entity.LEADS,
            lead.id,
            {"status": {"$in": OPEN_LEAD}},
            {"status": LeadStatus.CONVERTED},
        )
        if claimed is None:
            raise Conflict("the lead is already converted or junk", code="lead_closed")
        new_company = None
        if company_title:
            new_company = Company(
                title=company_title, responsible_id=lead.responsible_id or actor.id
            )
            await self.insert(Entity.COMPANIES, new_company, actor_id=actor.id)
        new_contact = None
        if contact:
            # The lead's clients are the person whose conversations made it: they become the
            # contact's own clients. Converting is staff taking the lead's addresses on (the
            # card marks the unverified ones): from now on a proven address may match them.
            new_contact = Contact(
                name=lead.name,
                phones=lead.phones,
                emails=lead.emails,
                company_id=new_company.id if new_company else None,
                responsible_id=lead.responsible_id or actor.id,
                source=lead.source,
                lead_id=lead.id,
                client_ids=lead.client_ids,
                conversation_ids=lead.conversation_ids,
            )
            await self.insert(Entity.CONTACTS, new_contact, actor_id=actor.id)
            if new_company:
                new_company = _as(
                    Company,
                    await self.update(
                        Entity.COMPANIES, new_company.id, {}, add={"contact_ids": [new_contact.id]}
                    ),
                )
        new_deal = None
        if deal is not None:
            new_deal = Deal(
                title=deal["title"],
                pipeline_id=pipeline.id,
                stage=pipeline.stages[0].id,
                amount=deal.get("amount"),
                currency=deal.get("currency"),
                contact_id=new_contact.id if new_contact else None,
                company_id=new_company.id if new_company else None,
                lead_id=lead.id,
                responsible_id=lead.responsible_id or actor.id,
                conversation_ids=lead.conversation_ids,
            )
            await self.insert(Entity.DEALS, new_deal, actor_id=actor.id)
        await self.update(
            Entity.LEADS,
            lead.id,
            {
                "contact_id": new_contact.id if new_contact else None,
                "company_id": new_company.id if new_company else None,
                "deal_id": new_deal.id if new_deal else None,
            },
        )
        for conversation_id in lead.conversation_ids:
            await self.link(
                conversation_id,
                contact_id=new_contact.id if new_contact else None,
                deal_id=new_deal.id if new_deal else None,
                actor_id=actor.id,
            )
        refs = [ref(Entity.LEADS, lead.id)]
        refs += [ref(Entity.CONTACTS, new_contact.id)] if new_contact else []
        refs += [ref(Entity.COMPANIES, new_company.id)] if new_company else []
        refs += [ref(Entity.DEALS, new_deal.id)] if new_deal else []
        await self.activity("lead_converted", refs, text="Lead converted", actor_id=actor.id)
        return {
            "contact": new_contact.model_dump(mode="json") if new_contact else None,
            "company": new_company.model_dump(mode="json") if new_company else None,
            "deal": new_deal.model_dump(mode="json") if new_deal else None,
        }

    async def deal_from_conversation(
        self,
        conversation: Conversation,
        *,
        title: str,
        pipeline_id: str | None,
        amount: float | None,
        currency: str | None,
        actor: User,
    ) -> Deal:
        if conversation.crm.deal_id:
            existing = await self.store.deals.find_one({"_id": conversation.crm.deal_id})
            if existing is not None and not existing.get("closed"):
                raise Conflict(
                    "the conversation already has an open deal",
                    code="deal_exists",
                    details={"deal_id": conversation.crm.deal_id},
                )
        pipeline = await self.pipeline(pipeline_id)
        company_id = None
        if conversation.crm.contact_id:
            contact_doc = await self.store.contacts.find_one({"_id": conversation.crm.contact_id})
            company_id = contact_doc.get("company_id") if contact_doc else None
        deal = Deal(
            title=title,
            pipeline_id=pipeline.id,
            stage=pipeline.stages[0].id,
            amount=amount,
            currency=currency,
            contact_id=conversation.crm.contact_id,
            company_id=company_id if isinstance(company_id, str) else None,
            lead_id=conversation.crm.lead_id,
            responsible_id=actor.id,
            conversation_ids=[conversation.id],
        )
        await self.insert(Entity.DEALS, deal, actor_id=actor.id)
        await self.link(conversation.id, deal_id=deal.id, actor_id=actor.id)
        if conversation.crm.lead_id:
            await self.update(Entity.LEADS, conversation.crm.lead_id, {"deal_id": deal.id})
        return deal

    async def move_deal(self, deal: Deal, stage_id: str, actor: User) -> Deal:
        pipeline = await self.pipeline(deal.pipeline_id)
        stage = pipeline.stage(stage_id)
        if stage is None:
            raise ValidationFailed(
                "no such stage in the deal's pipeline",
                code="unknown_stage",
                details={"stages": [s.id for s in pipeline.stages]},
            )
        if stage_id == deal.stage:
            return deal
        closed = stage.semantic != StageSemantic.OPEN
        moved = await self.update_if(
            Entity.DEALS,
            deal.id,
            {"stage": deal.stage},
            {
                "stage": stage_id,
                "closed": closed,
                "won": (stage.semantic == StageSemantic.WON) if closed else None,
            },
        )
        if moved is None:
            raise Conflict("the deal moved meanwhile; reload it", code="stage_changed")
        old = pipeline.stage(deal.stage)
        change = {
            "from": deal.stage,
            "to": stage_id,
            "from_name": old.name if old else deal.stage,
            "to_name": stage.name,
        }
        await self.activity(
            "stage_changed",
            [ref(Entity.DEALS, deal.id)]
            + ([ref(Entity.CONTACTS, deal.contact_id)] if deal.contact_id else []),
            text=f"{change['from_name']} → {stage.name}",
            data=change,
            actor_id=actor.id,
        )
        await self.webhooks.emit(
            WebhookEvent.DEAL_STAGE_CHANGED, {**moved.model_dump(mode="json"), "change": change}
        )
        return _as(Deal, moved)

    # --- writing to a contact --------------------------------------------------------------

    async def write_to_contact(
        self, contact: Contact, text: str, channel_id: str | None, actor: User
    ) -> Appended:
        """Continue the newest conversation of the contact's own clients that ``actor`` may
        see (on ``channel_id`` when given), or open a new one on a closed one's channel;
        delivered through the outbox.

        Only the contact's clients (joined by their channel identity, a proven address, or
        the conversion of the lead they made): an address typed into a form never makes its
        typist a recipient. Nothing ``actor`` may write into: ``409 no_channel``, as if the
        contact had no conversation there. An operator writes only where they are in the
        conversation, as in the conversation itself: one waiting in the queue is theirs to
        accept first (``403 not_a_participant``)."""
        query: dict[str, Any] = {"client.id": {"$in": contact.client_ids}}
        if channel_id:
            query["channel.id"] = channel_id
        docs = (
            await self.hub.store.conversations.find(query)
            .sort("_id", -1)
            .limit(MAX_CHECKED_CONVERSATIONS)
            .to_list()
        )
        conversation: Conversation | None = None
        for last in await self.visible(actor, docs):
            if last.status != ConversationStatus.CLOSED:
                conversation = _ensure_may_write(actor, last)
                break
            conversation = await self._reopen(last, contact, actor)
            if conversation is not None:
                break
        if conversation is None:
            raise Conflict(
                "the contact has no conversation on that channel to write to",
                code="no_channel",
            )
        author = Author(type=AuthorType.OPERATOR, id=actor.id, name=actor.name)
        appended = await self.hub.stream.post(conversation, author, text)
        await self.activity(
            "message_sent",
            [ref(Entity.CONTACTS, contact.id)],
            text=text[:200],
            conversation_id=conversation.id,
            actor_id=actor.id,
        )
        return appended

    async def _reopen(
        self, last: Conversation, contact: Contact, actor: User
    ) -> Conversation | None:
        """The open conversation of ``last``'s chat, opened now when there is none; None when
        ``actor`` may not write there (an operator on a line they do not work in, a chat whose
        open conversation is not theirs to see)."""
        channel = await self.hub.store.channels.get(last.channel.id)
        client = await self.client(last.client.id)
        if channel is None or client is None:
            raise Conflict("the client's channel is gone", code="channel_gone")
        line = await self.hub.conversations.line(channel.line_id)
        if actor.role not in EDITORS and (
            line is None or not (actor.id in line.operators or oversees(actor, line))
        ):
            return None
        conversation, opened = await self.hub.stream.open_outbound(channel, last.chat_id, client)
        if not opened:
            # The chat went on meanwhile, maybe in a conversation moved to another line.
            if conversation.line_id != channel.line_id:
                line = await self.hub.conversations.line(conversation.line_id)
            if not may_see(actor, conversation, line):
                return None
            _ensure_may_write(actor, conversation)
        if not conversation.crm.contact_id:
            conversation = (
                await self.link(conversation.id, contact_id=contact.id, actor_id=actor.id)
                or conversation
            )
        await self.update(
            Entity.CONTACTS, contact.id, {}, add={"conversation_ids": [conversation.id]}
        )
        return conversation

    # --- the timeline ----------------------------------------------------------------------

    async def timeline(self, entity: Entity, record: Doc, user: User) -> dict[str, Any]:
        """The record's activities and conversations, as far as ``user`` may see them: no
        conversation of another line, nor an activity of one."""
        activity_docs = (
            await self.store.activities.find({"refs": ref(entity, record.id)})
            .sort("_id", 1)
            .limit(MAX_TIMELINE_ACTIVITIES)
            .to_list()
        )
        conversation_query: dict[str, Any] = {"_id": {"$in": _conversation_ids(record)}}
        client_ids = getattr(record, "client_ids", None)
        if client_ids:
            conversation_query = {"$or": [conversation_query, {"client.id": {"$in": client_ids}}]}
        docs = (
            await self.hub.store.conversations.find(conversation_query)
            .sort("_id", 1)
            .limit(MAX_TIMELINE_CONVERSATIONS)
            .to_list()
        )
        conversations = await self.visible(user, docs)
        activities = self.reader.parse_all(Activity, activity_docs)
        shown = {c.id for c in conversations}
        others = {a.conversation_id for a in activities if a.conversation_id} - shown
        if others:
            other_docs = await self.hub.store.conversations.find(
                {"_id": {"$in": sorted(others)}}, _HEAVY_FIELDS
            ).to_list()
            shown |= {c.id for c in await self.visible(user, other_docs)}
        return {
            "activities": [
                a.model_dump(mode="json")
                for a in activities
                if a.conversation_id is None or a.conversation_id in shown
            ],
            "conversations": [_conversation_summary(c) for c in conversations],
        }


def _ensure_may_write(actor: User, conversation: Conversation) -> Conversation:
    """Managers and admins write to the client of any conversation they may see; operators
    only into one they are visibly in (``POST /conversations/<id>/messages`` asks the same),
    never past the queue's accept."""
    if actor.role not in EDITORS and not conversation.visible_participant(actor.id):
        raise Forbidden(
            "accept or join the conversation to write to the client", code="not_a_participant"
        )
    return conversation


def _as(model: type[R], record: Doc) -> R:
    assert isinstance(record, model)
    return record


def _conversation_ids(record: Doc) -> list[str]:
    ids: list[str] = list(getattr(record, "conversation_ids", []) or [])
    return ids


def _conversation_summary(conversation: Conversation) -> dict[str, Any]:
    return conversation.model_dump(
        mode="json",
        include={
            "id",
            "line_id",
            "channel",
            "client",
            "status",
            "assignee_id",
            "crm",
            "last_message",
            "created_at",
            "closed_at",
        },
    )


def search_filter(q: str | None) -> dict[str, Any]:
    """A case-insensitive match on names, titles, emails and phones."""
    if not q or not q.strip():
        return {}
    pattern = {"$regex": re.escape(q.strip()), "$options": "i"}
    phone = normalize_phone(q)
    clauses: list[dict[str, Any]] = [
        {"name": pattern},
        {"title": pattern},
        {"emails": pattern},
    ]
    if phone:
        clauses.append({"phones": phone})
    return {"$or": clauses}


__all__ = ["Crm", "blocked", "search_filter"]
