"""The channel port: kinds are made per app and release what they hold when it stops."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, ClassVar

import aiohttp

from channels.vk import VkKind
from hub.app import registry
from hub.channels import ChannelKindDefaults, ChannelRegistry


async def test_each_app_gets_its_own_kinds() -> None:
    first, second = registry(), registry()
    assert [k.name for k in first.kinds()] == ["widget", "api", "telegram", "vk", "email"]
    for name in first.types():
        assert first.get(name) is not second.get(name)


async def test_closing_the_registry_stops_the_vk_workers() -> None:
    kinds = registry()
    vk = kinds.get("vk")
    assert isinstance(vk, VkKind)
    async with aiohttp.ClientSession() as http:
        clients = vk._clients  # the kind's own: its worker threads start with its first client
        clients.client({"access_token": "t" * 16, "api_base": None}, http)
        pool = clients._executor
        assert pool is not None
        worker = await asyncio.get_running_loop().run_in_executor(pool, threading.current_thread)
    assert worker.name.startswith("openlines-vk")
    await kinds.close()
    worker.join(timeout=10)  # a closed pool's idle workers exit
    assert not worker.is_alive()


async def test_close_reaches_every_kind_last_added_first() -> None:
    closed: list[str] = []

    class Kind(ChannelKindDefaults[Any]):
        name: ClassVar[str] = ""

        async def close(self) -> None:
            closed.append(self.name)

    kinds = ChannelRegistry()
    for name in ("a", "b"):
        kind = type(name, (Kind,), {"name": name})()
        kinds.add(kind)
    await kinds.close()
    assert closed == ["b", "a"]
