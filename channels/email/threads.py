"""What the e-mail channel remembers in its own collections: which Message-ID belongs to
which thread (ours and the clients'), each thread's subject and reference chain, and how far
the receiver got in the mailbox (UIDVALIDITY and last UID)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from channels.email.config import EmailConfig
from channels.email.parse import Threading, normalise_subject
from hub.models import utcnow

# A mail without a token or reference headers joins the sender's thread with the same subject
# only if that thread moved within this window.
SUBJECT_WINDOW = timedelta(days=14)
# References we repeat in replies (the newest ones; the first is kept, as RFC 5322 asks).
MAX_REFERENCES = 20

Doc = dict[str, Any]


@dataclass(frozen=True)
class Thread:
    chat_id: str
    client_address: str
    subject: str
    last_client_message_id: str | None
    references: list[str]


@dataclass(frozen=True)
class MailboxState:
    uidvalidity: int
    last_uid: int
    import_since: datetime | None


class Threads:
    def __init__(self, db: AsyncDatabase[Doc], channel_id: str) -> None:
        self._channel_id = channel_id
        # _id = "<channel_id>:<Message-ID>" -> chat_id.
        self._messages = db["email_messages"]
        # _id = "<channel_id>:<chat_id>" -> the thread.
        self._threads = db["email_threads"]
        # _id = channel_id -> where the receiver is in the mailbox.
        self._mailboxes = db["email_mailboxes"]

    async def ensure_indexes(self) -> None:
        await self._threads.create_index(
            [
                ("channel_id", ASCENDING),
                ("client_address", ASCENDING),
                ("normalised_subject", ASCENDING),
                ("updated_at", DESCENDING),
            ]
        )

    # --- threading ------------------------------------------------------------------------

    async def resolve(self, mail: Threading, config: EmailConfig) -> tuple[str, str]:
        """The thread (``chat_id``) this mail belongs to and the rule that decided it."""
        if chat := await self._chat_of(mail.message_id):
            return chat, "seen before"
        for recipient in mail.to_addresses:
            token = config.token_of(recipient)
            if token and await self._threads.find_one({"_id": self._key(token)}, {"_id": 1}):
                return token, "reply token"
        for message_id in mail.in_reply_to:
            if chat := await self._chat_of(message_id):
                return chat, "In-Reply-To"
        for message_id in reversed(mail.references):
            if chat := await self._chat_of(message_id):
                return chat, "References"
        subject = normalise_subject(mail.subject)
        if subject:
            doc = await self._threads.find_one(
                {
                    "channel_id": self._channel_id,
                    "client_address": mail.sender_address,
                    "normalised_subject": subject,
                    "updated_at": {"$gte": utcnow() - SUBJECT_WINDOW},
                },
                sort=[("updated_at", DESCENDING)],
            )
            if doc is not None:
                return str(doc["chat_id"]), "subject"
        return secrets.token_hex(8), "new thread"

    async def record_inbound(self, chat_id: str, mail: Threading) -> None:
        """Remember the client's mail: its id threads later replies, it is what we answer."""
        message_id = mail.message_id
        await self._remember(message_id, chat_id)
        await self._threads.update_one(
            {"_id": self._key(chat_id)},
            {
                "$setOnInsert": {
                    "channel_id": self._channel_id,
                    "chat_id": chat_id,
                    "client_address": mail.sender_address,
                    "subject": mail.subject,
                    "normalised_subject": normalise_subject(mail.subject),
                },
                "$set": {"last_client_message_id": message_id, "updated_at": utcnow()},
                "$push": {"references": {"$each": [message_id], "$slice": -MAX_REFERENCES}},
            },
            upsert=True,
        )

    async def record_outbound(self, chat_id: str, message_id: str) -> None:
        await self._remember(message_id, chat_id)
        await self._threads.update_one(
            {"_id": self._key(chat_id), "references": {"$ne": message_id}},
            {
                "$set": {"updated_at": utcnow()},
                "$push": {"references": {"$each": [message_id], "$slice": -MAX_REFERENCES}},
            },
        )

    async def thread(self, chat_id: str) -> Thread | None:
        doc = await self._threads.find_one({"_id": self._key(chat_id)})
        if doc is None:
            return None
        return Thread(
            chat_id=chat_id,
            client_address=doc["client_address"],
            subject=doc.get("subject") or "",
            last_client_message_id=doc.get("last_client_message_id"),
            references=list(doc.get("references") or []),
        )

    async def _chat_of(self, message_id: str) -> str | None:
        doc = await self._messages.find_one({"_id": self._key(message_id)})
        return str(doc["chat_id"]) if doc else None

    async def _remember(self, message_id: str, chat_id: str) -> None:
        await self._messages.update_one(
            {"_id": self._key(message_id)},
            {"$setOnInsert": {"chat_id": chat_id, "channel_id": self._channel_id}},
            upsert=True,
        )

    def _key(self, value: str) -> str:
        return f"{self._channel_id}:{value}"

    # --- mailbox position -----------------------------------------------------------------

    async def mailbox(self, mailbox_key: str) -> MailboxState | None:
        doc = await self._mailboxes.find_one({"_id": self._channel_id, "mailbox": mailbox_key})
        if doc is None:
            return None
        return MailboxState(
            uidvalidity=int(doc["uidvalidity"]),
            last_uid=int(doc["last_uid"]),
            import_since=doc.get("import_since"),
        )

    async def start_mailbox(
        self, mailbox_key: str, uidvalidity: int, last_uid: int, import_since: datetime | None
    ) -> None:
        """Where a newly connected mailbox starts: after the mail already in it, unless an
        import of the last days was asked for."""
        await self._mailboxes.replace_one(
            {"_id": self._channel_id},
            {
                "mailbox": mailbox_key,
                "uidvalidity": uidvalidity,
                "last_uid": last_uid,
                "import_since": import_since,
            },
            upsert=True,
        )

    async def advance(self, uidvalidity: int, last_uid: int) -> None:
        await self._mailboxes.update_one(
            {"_id": self._channel_id, "uidvalidity": uidvalidity, "last_uid": {"$lt": last_uid}},
            {"$set": {"last_uid": last_uid}},
        )

    async def imported(self) -> None:
        await self._mailboxes.update_one(
            {"_id": self._channel_id}, {"$set": {"import_since": None}}
        )
