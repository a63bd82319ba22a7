"""Secrets at rest: channel credentials (bot tokens, passwords, signing secrets) are stored
encrypted, so a copy of the database (a backup, a dump, a replica) holds none of them in clear.

AES-256-GCM with a key derived (HKDF-SHA256) from the hub's secret key; every value gets its own
random nonce. A stored value reads ``enc:v1:<base64url(nonce || ciphertext+tag)>``. Values
without the prefix are ones stored before encryption existed: they read as they are and are
encrypted at their next write (and by ``seal_all`` at start-up).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "enc:v1:"
_NONCE_BYTES = 12


class SecretBoxError(ValueError):
    """A stored secret does not decrypt: another secret key, or a damaged value."""


class SecretBox:
    def __init__(
        self, secret_key: bytes, *, purpose: bytes = b"openlines channel secrets"
    ) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
            secret_key
        )
        self._aead = AESGCM(key)

    @staticmethod
    def sealed(value: Any) -> bool:
        return isinstance(value, str) and value.startswith(PREFIX)

    def seal(self, value: str) -> str:
        """``value`` encrypted (already sealed values are returned as they are)."""
        if self.sealed(value):
            return value
        nonce = os.urandom(_NONCE_BYTES)
        data = nonce + self._aead.encrypt(nonce, value.encode(), None)
        return PREFIX + base64.urlsafe_b64encode(data).decode()

    def open(self, value: str) -> str:
        """The clear value of a sealed one (a value stored in clear is returned as it is)."""
        if not self.sealed(value):
            return value
        try:
            data = base64.urlsafe_b64decode(value[len(PREFIX) :])
            clear = self._aead.decrypt(data[:_NONCE_BYTES], data[_NONCE_BYTES:], None)
        except (InvalidTag, ValueError) as exc:
            raise SecretBoxError(
                "a stored secret does not decrypt (was OPENLINES_SECRET_KEY changed?)"
            ) from exc
        return clear.decode()

    def seal_fields(self, config: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
        """``config`` with the string values of ``fields`` sealed."""
        sealed = dict(config)
        for name in fields:
            value = sealed.get(name)
            if isinstance(value, str) and value:
                sealed[name] = self.seal(value)
        return sealed

    def open_fields(self, config: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
        """``config`` with the sealed values of ``fields`` in clear."""
        opened = dict(config)
        for name in fields:
            value = opened.get(name)
            if isinstance(value, str):
                opened[name] = self.open(value)
        return opened
