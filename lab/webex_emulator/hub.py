"""The Mercury side: open websockets per identity, activity delivery, acks and the event log.

Delivery follows what Webex does for bots: every member of the room except the author gets a
``conversation.activity`` on each of its authorized websockets; in group rooms a bot gets only the
messages that mention it. What was delivered, swallowed by a fault, or had nowhere to go is kept
per identity so tests and the lab can tell "the bot never got it" from "the bot got it and did
not answer".
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from . import ids
from .faults import FaultRegistry
from .store import Identity, Message, Room, Store

log = logging.getLogger(__name__)

# Per identity; enough for a lab session, bounded so a chatty probe cannot grow memory forever.
MAX_EVENTS = 500
# How the server ends a stale websocket: "going away", as for a drop, so clients simply reconnect.
CLOSE_STALE = 1001


@dataclass
class Connection:
    """One open websocket of one device of one identity."""

    id: str
    identity: Identity
    device_uuid: str
    ws: web.WebSocketResponse
    request: web.Request
    connected_at: float = field(default_factory=time.time)
    user_agent: str = ""
    authorized: bool = False
    frames_sent: int = 0
    acks: int = 0
    pongs_received: int = 0
    client_pings_answered: int = 0
    last_pong_at: float | None = None
    last_client_ping_at: float | None = None
    last_delivery_at: float | None = None
    # Set when a stale_after_idle fault swallowed a delivery; the server is closing it.
    stale: bool = False

    @property
    def idle_since(self) -> float:
        """When the connection last had an activity delivered, or opened: what staleness counts from."""
        return self.last_delivery_at if self.last_delivery_at is not None else self.connected_at

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.identity.name,
            "device": self.device_uuid,
            "remote": self.request.remote,
            "user_agent": self.user_agent,
            "connected_at": ids.iso(self.connected_at),
            "authorized": self.authorized,
            "frames_sent": self.frames_sent,
            "acks": self.acks,
            # Pongs the client sent to our heartbeat pings, and pings of the client we answered.
            "pongs_received": self.pongs_received,
            "client_pings_answered": self.client_pings_answered,
            "last_pong_at": ids.iso(self.last_pong_at) if self.last_pong_at else None,
            "last_client_ping_at": ids.iso(self.last_client_ping_at) if self.last_client_ping_at else None,
            "last_delivery_at": ids.iso(self.last_delivery_at) if self.last_delivery_at else None,
        }


@dataclass
class Delivery:
    """One activity meant for one identity, and what became of it."""

    frame_id: str
    activity_id: str
    message_id: str
    room_id: str
    author: str
    created: float
    state: str = "pending"  # pending, delayed, delivered, blackholed, stale, no_connection
    connections: int = 0
    stale_connections: int = 0  # websockets on which a stale_after_idle fault swallowed it
    acked_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "frame_id": self.frame_id,
            "activity_id": self.activity_id,
            "message_id": self.message_id,
            "room_id": self.room_id,
            "author": self.author,
            "created": ids.iso(self.created),
            "state": self.state,
            "connections": self.connections,
            "stale_connections": self.stale_connections,
            "acked": self.acked_at is not None,
            "acked_at": ids.iso(self.acked_at) if self.acked_at else None,
        }


@dataclass
class IdentityLog:
    registrations: int = 0
    connects: int = 0
    authorizations: int = 0
    auth_failures: int = 0
    disconnects: int = 0
    stale_closes: int = 0
    deliveries: deque[Delivery] = field(default_factory=lambda: deque(maxlen=MAX_EVENTS))
    unmatched_acks: deque[str] = field(default_factory=lambda: deque(maxlen=MAX_EVENTS))

    def to_json(self) -> dict[str, Any]:
        return {
            "registrations": self.registrations,
            "connects": self.connects,
            "authorizations": self.authorizations,
            "auth_failures": self.auth_failures,
            "disconnects": self.disconnects,
            "stale_closes": self.stale_closes,
            "delivered": sum(1 for d in self.deliveries if d.state == "delivered"),
            "acked": sum(1 for d in self.deliveries if d.acked_at is not None),
            "deliveries": [d.to_json() for d in self.deliveries],
            "unmatched_acks": list(self.unmatched_acks),
        }


class Hub:
    """Routes activities to websockets and records what happened."""

    def __init__(self, store: Store, faults: FaultRegistry) -> None:
        self.store = store
        self.faults = faults
        self.connections: dict[str, Connection] = {}
        self.logs: dict[str, IdentityLog] = {name: IdentityLog() for name in store.identities}
        self._sequence = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()

    # connection bookkeeping

    def open(self, conn: Connection) -> None:
        self.connections[conn.id] = conn
        self.logs[conn.identity.name].connects += 1

    def close(self, conn: Connection) -> None:
        if self.connections.pop(conn.id, None) is not None:
            self.logs[conn.identity.name].disconnects += 1

    def authorize(self, conn: Connection, token: str) -> bool:
        """Mercury's first frame carries ``Bearer <token>``; it must be the device owner's token."""
        ok = token == f"Bearer {conn.identity.token}"
        conn.authorized = ok
        log_entry = self.logs[conn.identity.name]
        if ok:
            log_entry.authorizations += 1
        else:
            log_entry.auth_failures += 1
        return ok

    def record_registration(self, identity: Identity) -> None:
        self.logs[identity.name].registrations += 1

    def record_ack(self, conn: Connection, message_id: Any) -> None:
        """webex_bot acks with the REST message id; accept the activity or frame id as well."""
        conn.acks += 1
        entry = self.logs[conn.identity.name]
        for delivery in reversed(entry.deliveries):
            if message_id in (delivery.message_id, delivery.activity_id, delivery.frame_id):
                if delivery.acked_at is None:
                    delivery.acked_at = time.time()
                return
        entry.unmatched_acks.append(str(message_id))

    def open_connections(self, name: str | None = None) -> list[Connection]:
        return [c for c in self.connections.values() if name is None or c.identity.name == name]

    def is_stale(self, conn: Connection, now: float | None = None) -> bool:
        """Whether the connection's next delivery would be swallowed by a stale_after_idle fault."""
        if conn.stale:
            return True
        fault = self.faults.get(conn.identity.name)
        now = time.time() if now is None else now
        return fault is not None and fault.is_stale(conn.user_agent, conn.idle_since, now)

    def drop(self, name: str, *, abrupt: bool = False) -> int:
        """Close the identity's websockets: with a close frame, or by cutting the TCP connection.

        The close handshakes run in the background: the admin call that asked for the drop must
        not wait on the client's answer (a test may well be that client).
        """
        targets = self.open_connections(name)
        for conn in targets:
            if abrupt:
                if conn.request.transport is not None:
                    conn.request.transport.abort()
            else:
                self._spawn(conn.ws.close(code=1001, message=b"dropped by emulator fault"))
        return len(targets)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close_all(self, timeout: float = 2.0) -> None:
        """On shutdown: close every websocket with 1001, waiting at most ``timeout`` for clients."""
        for task in list(self._tasks):
            task.cancel()
        closing = [conn.ws.close(code=1001, message=b"emulator shutting down") for conn in self.connections.values()]
        if closing:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), timeout)

    # delivery

    def publish(self, message: Message, room: Room, author: Identity, base_url: str) -> None:
        """Schedule delivery of a new message to every recipient; the REST call does not wait."""
        for recipient in self._recipients(message, room, author):
            delivery = Delivery(
                frame_id=ids.new_uuid(),
                activity_id=message.uuid,
                message_id=message.message_id,
                room_id=room.room_id,
                author=author.name,
                created=time.time(),
            )
            self.logs[recipient.name].deliveries.append(delivery)
            frame = self._frame(delivery, message, room, author, base_url)
            self._spawn(self._deliver(recipient, delivery, frame))

    def _recipients(self, message: Message, room: Room, author: Identity) -> list[Identity]:
        recipients = []
        for member_uuid in room.members:
            member = self.store.by_uuid(member_uuid)
            if member is None or member.uuid == author.uuid:
                continue
            if room.type == "group" and member.type == "bot" and member.person_id not in message.mentioned:
                continue
            recipients.append(member)
        return recipients

    async def _deliver(self, recipient: Identity, delivery: Delivery, frame: dict[str, Any]) -> None:
        fault = self.faults.get(recipient.name)
        if fault is not None and fault.mode == "delay":
            delivery.state = "delayed"
            await asyncio.sleep(fault.seconds)
        # Looked up again: a blackhole set while the delivery waited applies to it.
        fault = self.faults.get(recipient.name)
        targets = [c for c in self.open_connections(recipient.name) if c.authorized and not c.ws.closed]
        if fault is not None and fault.mode == "blackhole":
            hearing = [c for c in targets if not fault.deafens(c.connected_at)]
            if not hearing and (targets or not fault.until_reconnect):
                delivery.state = "blackholed"
                log.info("blackholed %s for %s", delivery.activity_id, recipient.name)
                return
            targets = hearing
        if not targets:
            delivery.state = "no_connection"
            log.info("no websocket of %s to deliver %s to", recipient.name, delivery.activity_id)
            return
        now = time.time()
        live = []
        for conn in targets:
            if self.is_stale(conn, now):
                self._swallow_stale(conn, delivery)
            else:
                live.append(conn)
        payload = json.dumps(frame)
        sent = 0
        for conn in live:
            try:
                await conn.ws.send_str(payload)
            except (ConnectionError, RuntimeError) as exc:
                log.info("delivery to %s failed: %s", conn.id, exc)
                continue
            conn.frames_sent += 1
            conn.last_delivery_at = time.time()
            sent += 1
        delivery.connections = sent
        delivery.stale_connections = len(targets) - len(live)
        delivery.state = "delivered" if sent else "stale" if delivery.stale_connections else "no_connection"
        log.info("delivered %s to %s on %d websocket(s)", delivery.activity_id, recipient.name, sent)

    def _swallow_stale(self, conn: Connection, delivery: Delivery) -> None:
        """The activity is not sent on a stale websocket; the server then closes it (once)."""
        log.info("stale websocket %s of %s swallowed %s", conn.id, conn.identity.name, delivery.activity_id)
        if conn.stale:
            return
        conn.stale = True
        self.logs[conn.identity.name].stale_closes += 1
        self._spawn(conn.ws.close(code=CLOSE_STALE, message=b"stale after idle"))

    def _frame(
        self,
        delivery: Delivery,
        message: Message,
        room: Room,
        author: Identity,
        base_url: str,
    ) -> dict[str, Any]:
        """A Mercury frame in the shape webex_bot parses (see README.md for the fields it reads).

        webex_bot derives the message lookup URL from ``target.url`` by replacing
        ``conversations/<target.id>`` with ``messages/<activity.id>``, so ``target.url`` must point
        back at this emulator's conversation API.
        """
        now_ms = int(time.time() * 1000)
        activity: dict[str, Any] = {
            "id": message.uuid,
            "objectType": "activity",
            "url": f"{base_url}/conversation/api/v1/activities/{message.uuid}",
            "published": ids.iso(message.created),
            "verb": "post",
            "actor": {
                "id": author.uuid,
                "objectType": "person",
                "displayName": author.display_name,
                "orgId": ids.ORG_UUID,
                "emailAddress": author.email,
                "entryUUID": author.uuid,
                "type": author.actor_type,
            },
            "object": {
                "objectType": "comment",
                "displayName": message.text or "",
                "content": message.html or message.markdown or message.text or "",
                "mentions": {"items": [{"id": pid, "objectType": "person"} for pid in message.mentioned]},
            },
            "target": {
                "id": room.uuid,
                "objectType": "conversation",
                "url": f"{base_url}/conversation/api/v1/conversations/{room.uuid}",
                "tags": ["ONE_ON_ONE"] if room.type == "direct" else [],
                "globalId": room.uuid,
            },
            "clientTempId": f"emulator:{delivery.frame_id}",
        }
        if message.parent_id:
            parent_uuid = ids.uuid_of(message.parent_id, "MESSAGE") or message.parent_id
            activity["parent"] = {"id": parent_uuid, "type": "reply"}
        return {
            "id": delivery.frame_id,
            "data": {"eventType": "conversation.activity", "activity": activity},
            "timestamp": now_ms,
            "trackingId": ids.tracking_id(),
            "alertType": "full",
            "headers": {},
            "sequenceNumber": next(self._sequence),
            "filterMessage": False,
            "wsWriteTimestamp": now_ms,
        }

    def events_json(self, name: str | None = None) -> dict[str, Any]:
        names = [name] if name else sorted(self.logs)
        return {n: self.logs[n].to_json() for n in names}
