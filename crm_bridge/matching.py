"""Who a client is to the CRM, and which records that lets them join (issue #13, finding 1).

An e-mail or phone typed into a form is a claim, not an identity. A person matches a contact or
an open lead only by their channel identity (the hub client: a Telegram or VK account, a mail
sender, a visitor the site vouched for) or by an address the channel proved
(``Client.email_verified`` / ``phone_verified``) among the record's addresses that are no
claims themselves (a lead's ``unverified_*``; a contact's addresses are staff's). A claimed
address may go on the client's own new lead and suggests
matches to staff (``possible_contact_ids``); it never joins a record, shows its history or
receives its messages. Pure: builds queries, does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm_bridge.normalize import normalize_email, normalize_phone
from hub.models import Client, ClientInfo


@dataclass(frozen=True)
class Identity:
    """A client as the CRM may rely on it: the channel identity, proven and claimed addresses
    (normalised)."""

    client_id: str
    proven_emails: tuple[str, ...] = ()
    proven_phones: tuple[str, ...] = ()
    claimed_emails: tuple[str, ...] = ()
    claimed_phones: tuple[str, ...] = ()

    @classmethod
    def of(cls, client_id: str, client: Client | None, info: ClientInfo | None = None) -> Identity:
        """From the stored client; without one, from what a conversation shows (``info``),
        which proves nothing."""
        if client is not None:
            email, phone = normalize_email(client.email), normalize_phone(client.phone)
            email_proven, phone_proven = client.email_verified, client.phone_verified
        else:
            email = normalize_email(info.email if info else None)
            phone = normalize_phone(info.phone if info else None)
            email_proven = phone_proven = False
        return cls(
            client_id=client_id,
            proven_emails=(email,) if email and email_proven else (),
            proven_phones=(phone,) if phone and phone_proven else (),
            claimed_emails=(email,) if email and not email_proven else (),
            claimed_phones=(phone,) if phone and not phone_proven else (),
        )

    @property
    def emails(self) -> list[str]:
        return [*self.proven_emails, *self.claimed_emails]

    @property
    def phones(self) -> list[str]:
        return [*self.proven_phones, *self.claimed_phones]


def same_person(identity: Identity) -> dict[str, Any]:
    """A query for the contacts or leads ``identity`` is known to be: its client, or a proven
    address among the record's addresses that are no claims (contacts have none)."""
    clauses: list[dict[str, Any]] = [{"client_ids": identity.client_id}]
    clauses += [
        {"emails": email, "unverified_emails": {"$ne": email}} for email in identity.proven_emails
    ]
    clauses += [
        {"phones": phone, "unverified_phones": {"$ne": phone}} for phone in identity.proven_phones
    ]
    return {"$or": clauses}


def maybe_same_person(identity: Identity) -> dict[str, Any] | None:
    """A query for the contacts any address of ``identity`` names (claimed or not): the
    suggestions shown to staff. None when it has no address."""
    clauses: list[dict[str, Any]] = []
    if identity.emails:
        clauses.append({"emails": {"$in": identity.emails}})
    if identity.phones:
        clauses.append({"phones": {"$in": identity.phones}})
    return {"$or": clauses} if clauses else None
