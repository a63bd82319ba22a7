"""python-socketio's client managers made fit for many sockets: rooms indexed by sid, and a
broadcast that encodes once and queues the same frame on every socket.

What the stock managers (5.x) do that costs at scale, and what these do instead:

- a disconnect, ``get_rooms`` and every ``pending_*`` check scan all rooms or a list of sids, so
  closing n sockets is quadratic: here a sid → rooms index per namespace and sets of sids;
- an emit to a room starts one task per recipient and each socket's writer encodes the
  engine.io frame again: here the Socket.IO packet and its engine.io frame are encoded once and
  the frame is put on each socket's queue directly (the queue is unbounded; ``send`` never
  waited on it);
- on Redis, an emit is encoded for the local sockets and serialised again for the other
  processes, which decode it and encode it once more: here the encoded packet is what is
  published, and each process queues it as it is. Local sockets get it before the publish
  (as stock), and a process skips its own message when it comes back (as stock).

Emits with a callback (an ack per recipient) and binary payloads take the stock path.
``SocketServer`` is python-socketio's server on ``hub.socket_engine.EngineServer`` (cheap idle
websockets, pings and the sweep for silent clients in one service task).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from typing import Any

import engineio
import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from hub.socket_engine import EngineServer

Room = str | None


class _SidSet:
    """The ``pending_connect`` / ``pending_disconnect`` lists of the base manager as an ordered
    set: the same ``append``/``remove``/``in``/``len`` in O(1) (a storm keeps thousands there)."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[str, None] = {}

    def append(self, sid: str) -> None:
        self._items[sid] = None

    def remove(self, sid: str) -> None:
        del self._items[sid]

    def __contains__(self, sid: object) -> bool:
        return sid in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)


class _PendingByNamespace(dict[str, _SidSet]):
    """``pending_connect[namespace] = []`` in the base class makes a list; this makes a set."""

    def __setitem__(self, namespace: str, value: Any) -> None:
        sids = _SidSet()
        for sid in value:
            sids.append(sid)
        super().__setitem__(namespace, sids)


class _Room(dict[str, str]):
    """A room's members (sid -> engine.io sid) with the one bidict attribute the base class
    reads of a room (``_fwdm``, in ``get_participants``)."""

    __slots__ = ()

    @property
    def _fwdm(self) -> dict[str, str]:
        return self


class _Frame(eio_packet.Packet):  # type: ignore[misc]  # engineio has no type hints
    """An engine.io MESSAGE frame whose text is computed once for all its recipients."""

    def __init__(self, data: str) -> None:
        super().__init__(eio_packet.MESSAGE, data)
        self._encoded = str(eio_packet.MESSAGE) + data

    def encode(self, b64: bool = False) -> str:
        return self._encoded


class IndexedRooms:
    """The room bookkeeping of ``socketio.BaseManager`` with a sid → rooms index, and the
    one-encoding broadcast. Mixed in before a python-socketio manager class."""

    rooms: dict[str, dict[Room, Any]]
    server: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # namespace -> sid -> its rooms (a list: a socket is in a few)
        self._rooms_of: dict[str, dict[str, list[Room]]] = {}
        self.pending_connect = _PendingByNamespace()
        self.pending_disconnect = _PendingByNamespace()

    # --- the index -------------------------------------------------------------------------

    def basic_enter_room(
        self, sid: str, namespace: str, room: Room, eio_sid: str | None = None
    ) -> None:
        # The base class's, but a room other than the namespace's own (``None``, whose inverse
        # map finds a sid by its engine.io sid) is a plain dict: every widget socket has two
        # rooms of its own (its sid's and its visitor's), and a bidict is three objects.
        if room is None:
            super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]
        else:
            if eio_sid is None and namespace not in self.rooms:
                raise ValueError("sid is not connected to requested namespace")
            if sid != room and self.is_sid_room(namespace, room):  # type: ignore[attr-defined]
                raise ValueError("cannot enter a sid room")
            ns = self.rooms.setdefault(namespace, {})
            if eio_sid is None:
                eio_sid = ns[None][sid]
            ns.setdefault(room, _Room())[sid] = eio_sid
        joined = self._rooms_of.setdefault(namespace, {}).setdefault(sid, [])
        if room not in joined:
            joined.append(room)

    def basic_leave_room(self, sid: str, namespace: str, room: Room) -> None:
        super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        of_ns = self._rooms_of.get(namespace)
        if of_ns is None:
            return
        joined = of_ns.get(sid)
        if joined is None or room not in joined:
            return
        joined.remove(room)
        if not joined:
            del of_ns[sid]
            if not of_ns:
                del self._rooms_of[namespace]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        joined = self._rooms_of.get(namespace, {}).get(sid)
        # The sid room and the ``None`` room (every socket of the namespace) go last, as in
        # the base class, which leaves them in the order it finds them.
        for room in sorted(joined or (), key=lambda r: (r is None, r == sid)):
            self.basic_leave_room(sid, namespace, room)
        if sid in getattr(self, "callbacks", {}):
            del self.callbacks[sid]  # type: ignore[attr-defined]
        for pending in (self.pending_connect, self.pending_disconnect):
            sids = pending.get(namespace)
            if sids is not None and sid in sids:
                sids.remove(sid)
                if not sids:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[Room]:
        return [
            room for room in self._rooms_of.get(namespace, {}).get(sid, ()) if room is not None
        ]

    def basic_close_room(self, room: str, namespace: str) -> None:
        if self.is_sid_room(namespace, room):  # type: ignore[attr-defined]
            raise ValueError("cannot close a sid room")
        for sid in list(self.rooms.get(namespace, {}).get(room, {})):
            self.basic_leave_room(sid, namespace, room)

    # --- the broadcast ---------------------------------------------------------------------

    def encode(self, event: str, data: Any, namespace: str) -> list[str] | None:
        """The Socket.IO packet of an event as text, or None when it must take the stock path
        (binary attachments)."""
        if isinstance(data, tuple):
            args = list(data)
        elif data is not None:
            args = [data]
        else:
            args = []
        pkt = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event, *args])
        encoded = pkt.encode()
        if isinstance(encoded, list):
            return None
        return [encoded]

    async def deliver(
        self,
        encoded: list[str],
        namespace: str,
        room: str | list[str] | None,
        skip_sid: str | list[str] | None,
    ) -> int:
        """Queue encoded packets on the local sockets of ``room`` (every socket of the namespace
        when None); returns how many sockets got them."""
        if namespace not in self.rooms:
            return 0
        frames = [_Frame(text) for text in encoded]
        skip = _as_set(skip_sid)
        eio = self.server.eio
        sockets = eio.sockets
        delivered = 0
        for sid, eio_sid in self._participants(namespace, room):
            if sid in skip:
                continue
            socket = sockets.get(eio_sid)
            if socket is None:
                continue
            if socket.closed:
                continue
            last_ping = socket.last_ping
            if last_ping and time.time() - last_ping > eio.ping_timeout:
                # The stock path notices the client is gone and closes the socket.
                for frame in frames:
                    await socket.send(frame)
                continue
            for frame in frames:
                socket.queue.put_nowait(frame)
            delivered += 1
        return delivered

    def _participants(
        self, namespace: str, room: str | list[str] | None
    ) -> Iterable[tuple[str, str]]:
        ns = self.rooms.get(namespace, {})
        if room is None or isinstance(room, str):
            members = ns.get(room)
            return list(members.items()) if members else []
        merged: dict[str, str] = {}
        for name in room:
            members = ns.get(name)
            if members:
                merged.update(members)
        return merged.items()


def _as_set(skip_sid: str | list[str] | None) -> set[str]:
    if skip_sid is None:
        return set()
    if isinstance(skip_sid, str):
        return {skip_sid}
    return set(skip_sid)


class Manager(IndexedRooms, socketio.AsyncManager):  # type: ignore[misc]
    """One process: the stock manager with the index and the one-encoding broadcast."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: str | list[str] | None = None,
        skip_sid: str | list[str] | None = None,
        callback: Any = None,
        to: str | list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        encoded = None if callback else self.encode(event, data, namespace)
        if encoded is None:
            await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs
            )
            return
        await self.deliver(encoded, namespace, room, skip_sid)


class RedisManager(IndexedRooms, socketio.AsyncRedisManager):  # type: ignore[misc]
    """Several processes on Redis: the local sockets get the packet at once, the others get the
    same encoded packet through the channel (message ``emit`` with ``encoded``; a stock
    ``emit`` from another sender is still understood)."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: str | list[str] | None = None,
        skip_sid: str | list[str] | None = None,
        callback: Any = None,
        to: str | list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        namespace = namespace or "/"
        if kwargs.get("ignore_queue"):
            if callback is None and (encoded := self.encode(event, data, namespace)):
                await self.deliver(encoded, namespace, room, skip_sid)
                return
            await socketio.AsyncManager.emit(
                self, event, data, namespace, room=room, skip_sid=skip_sid, callback=callback
            )
            return
        encoded = None if callback else self.encode(event, data, namespace)
        if encoded is None:
            await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs
            )
            return
        await self.deliver(encoded, namespace, room, skip_sid)
        await self._publish(
            {
                "method": "emit",
                "event": event,
                "encoded": encoded,
                "namespace": namespace,
                "room": room,
                "skip_sid": skip_sid,
                "callback": None,
                "host_id": self.host_id,
            }
        )

    async def close(self) -> None:
        """Stop listening and close the Redis connections (python-socketio has no stop)."""
        listener = getattr(self, "thread", None)
        if listener is not None:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        if getattr(self, "connected", False):
            await self.pubsub.aclose()
            await self.redis.aclose()
            self.connected = False

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        encoded = message.get("encoded")
        if encoded is None:
            await super()._handle_emit(message)
            return
        await self.deliver(
            list(encoded),
            message.get("namespace") or "/",
            message.get("room"),
            message.get("skip_sid"),
        )


class SocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server on our engine.io server (``hub.socket_engine``)."""

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return EngineServer
