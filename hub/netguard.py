"""Where the hub may connect to on behalf of its users: public addresses only (SSRF).

Channel and webhook URLs are typed in by admins, and a hub usually runs next to things that are
not meant to be reached from outside (Redis, MongoDB, cloud metadata at 169.254.169.254, an
admin port on localhost). A URL whose host is or resolves to a private, loopback, link-local,
multicast or reserved address is refused, unless ``OPENLINES_ALLOW_PRIVATE_URLS`` says the
installation means it (a self-hosted Bot API in the same network; the tests' local fakes).

Checked twice: when a URL is stored (``ensure_public_url``: a clear 422 for the admin) and at
connect time for the hub's HTTP session (``GuardedResolver``), so a name that later resolves to
an inside address (DNS rebinding) is refused too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from hub.errors import ValidationFailed

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public(address: Address) -> bool:
    """Whether ``address`` is on the public internet (not private, loopback, link-local, ...)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def _addresses(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ValidationFailed(
            f"the host {host!r} cannot be resolved", code="unresolvable_host"
        ) from None
    return [ipaddress.ip_address(info[4][0]) for info in infos]


async def ensure_public_host(host: str, port: int, *, allow_private: bool) -> None:
    """``ValidationFailed`` (422, ``private_address``) unless every address of ``host`` is
    public; with ``allow_private`` anything goes."""
    if allow_private:
        return
    if not host:
        raise ValidationFailed("the address has no host", code="invalid_url")
    inside = [str(a) for a in await _addresses(host, port) if not is_public(a)]
    if inside:
        raise ValidationFailed(
            f"{host} is a private or local address; the hub connects to public addresses only "
            "(OPENLINES_ALLOW_PRIVATE_URLS allows others)",
            code="private_address",
            details={"host": host},
        )


async def ensure_public_url(url: str, *, allow_private: bool) -> None:
    """``ensure_public_host`` for the host of an http(s) URL."""
    if allow_private:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValidationFailed("only http and https URLs are allowed", code="invalid_url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationFailed("the URL has a bad port", code="invalid_url") from None
    await ensure_public_host(parts.hostname or "", port, allow_private=False)


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver that drops inside addresses of names it resolves (IP literals in a
    URL never reach a resolver: ``ensure_public_url`` checks those where URLs are stored and
    before each webhook call)."""

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = DefaultResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if self._allow_private:
            return results
        public = [r for r in results if is_public(ipaddress.ip_address(r["host"]))]
        if not public:
            raise OSError(f"{host} resolves to private or local addresses only")
        return public

    async def close(self) -> None:
        await self._inner.close()


__all__ = [
    "GuardedResolver",
    "ensure_public_host",
    "ensure_public_url",
    "is_public",
]
