"""The emulator's state: identities, rooms, memberships, messages and WDM devices.

Everything the REST, WDM and conversation endpoints read or change lives here, behind methods
that keep the invariants (a direct room has exactly two members, a message belongs to a room its
author is in). Websocket connections are not state of this kind; they live in the hub.

The state can be persisted to a JSON file so that a restarted emulator keeps message history and
device registrations: a bot whose websocket dropped during the restart then reconnects to the same
device URL, as it would with the real cloud, instead of being refused and re-registering.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import ids

IDENTITY_TYPES = ("bot", "person")
# Webex caps a message's text at 7439 bytes.
MAX_TEXT_BYTES = 7439
# Registrations a bot keeps when it re-registers in a loop (webex_bot 1.0.x with websockets >= 14
# re-registers every 5 s forever): enough history for the tests, bounded memory for the lab.
MAX_DEVICES_PER_IDENTITY = 25

_MENTION = re.compile(r"<@(personId|personEmail):([^|>]+)(?:\|([^>]*))?>")


class StoreError(Exception):
    """A request the store refuses; carries the HTTP status the API should answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Identity:
    """A person or bot from the identities file. Its ids derive from its name, so they are stable."""

    name: str
    token: str
    email: str
    type: str
    display_name: str

    @property
    def uuid(self) -> str:
        return ids.stable_uuid("person", self.name)

    @property
    def person_id(self) -> str:
        return ids.encode_id("PEOPLE", self.uuid)

    @property
    def actor_type(self) -> str:
        # webex_bot treats every actor type other than PERSON as a bot.
        return "PERSON" if self.type == "person" else "ROBOT"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.person_id,
            "emails": [self.email],
            "phoneNumbers": [],
            "displayName": self.display_name,
            "nickName": self.display_name.split(" ")[0],
            "userName": self.email,
            "orgId": ids.encode_id("ORGANIZATION", ids.ORG_UUID),
            "created": "2024-01-01T00:00:00.000Z",
            "status": "active",
            "type": self.type,
            # webex_bot puts its avatar on the help card and fails without one; never fetched.
            "avatar": f"https://avatar.invalid/{self.uuid}.png",
        }


@dataclass
class Room:
    uuid: str
    type: str  # "direct" or "group"
    title: str
    creator_uuid: str
    created: float
    last_activity: float
    members: dict[str, float] = field(default_factory=dict)  # person uuid -> joined at

    @property
    def room_id(self) -> str:
        return ids.encode_id("ROOM", self.uuid)


@dataclass
class Message:
    uuid: str
    room_uuid: str
    author_uuid: str
    created: float
    text: str | None = None
    markdown: str | None = None
    html: str | None = None
    parent_id: str | None = None
    mentioned: list[str] = field(default_factory=list)  # person ids
    attachments: list[Any] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    to_person_email: str | None = None
    to_person_id: str | None = None

    @property
    def message_id(self) -> str:
        return ids.encode_id("MESSAGE", self.uuid)


@dataclass
class Device:
    uuid: str
    owner_uuid: str
    created: float
    data: dict[str, Any]  # what the client sent (name, deviceType, model, ...)
    websocket_url: str
    url: str


class Store:
    """In-memory state with optional JSON persistence (``state_file``)."""

    def __init__(self, identities: Iterable[Identity], state_file: Path | None = None) -> None:
        self.identities: dict[str, Identity] = {}
        for identity in identities:
            if identity.name in self.identities:
                raise ValueError(f"identity name {identity.name!r} appears twice")
            self.identities[identity.name] = identity
        self._by_token = {i.token: i for i in self.identities.values()}
        self._by_uuid = {i.uuid: i for i in self.identities.values()}
        self._by_email = {i.email.lower(): i for i in self.identities.values()}
        if len(self._by_token) != len(self.identities) or len(self._by_email) != len(self.identities):
            raise ValueError("identity tokens and emails must be unique")
        self.rooms: dict[str, Room] = {}
        self.messages: dict[str, Message] = {}
        self.devices: dict[str, Device] = {}
        self.state_file = state_file
        self.on_change: Callable[[], None] | None = None
        if state_file is not None and state_file.exists():
            self._load(state_file)

    # identities

    def by_token(self, token: str) -> Identity | None:
        return self._by_token.get(token)

    def by_uuid(self, person_uuid: str) -> Identity | None:
        return self._by_uuid.get(person_uuid)

    def by_email(self, email: str) -> Identity | None:
        return self._by_email.get(email.lower())

    def by_person_id(self, person_id: str) -> Identity | None:
        person_uuid = ids.uuid_of(person_id, "PEOPLE")
        return self._by_uuid.get(person_uuid) if person_uuid else None

    # rooms and memberships

    def room(self, room_id: str) -> Room | None:
        room_uuid = ids.uuid_of(room_id, "ROOM")
        return self.rooms.get(room_uuid) if room_uuid else None

    def visible_room(self, room_id: str, viewer: Identity) -> Room:
        """The room, if ``viewer`` is a member; Webex answers 404 for rooms you cannot see."""
        room = self.room(room_id)
        if room is None or viewer.uuid not in room.members:
            raise StoreError(404, "Could not find a room with provided ID.")
        return room

    def direct_room(self, first: Identity, second: Identity) -> Room:
        """The 1:1 room of two identities, created on first use; its id depends only on the pair."""
        if first.uuid == second.uuid:
            raise StoreError(400, "Cannot create a direct room with yourself.")
        pair = sorted((first.uuid, second.uuid))
        room_uuid = ids.stable_uuid("direct", *pair)
        room = self.rooms.get(room_uuid)
        if room is None:
            now = time.time()
            room = Room(room_uuid, "direct", "", first.uuid, now, now, {pair[0]: now, pair[1]: now})
            self.rooms[room_uuid] = room
            self._changed()
        return room

    def create_room(self, title: str, creator: Identity, members: Iterable[Identity] = ()) -> Room:
        now = time.time()
        room = Room(ids.new_uuid(), "group", title, creator.uuid, now, now, {creator.uuid: now})
        for member in members:
            room.members.setdefault(member.uuid, now)
        self.rooms[room.uuid] = room
        self._changed()
        return room

    def add_member(self, room: Room, person: Identity) -> None:
        if room.type == "direct":
            raise StoreError(409, "Cannot add members to a direct room.")
        if person.uuid in room.members:
            raise StoreError(409, "Person is already in the room.")
        room.members[person.uuid] = time.time()
        self._changed()

    def rooms_of(self, person: Identity) -> list[Room]:
        """Rooms of ``person``, most recently active first (Webex's default order)."""
        mine = [room for room in self.rooms.values() if person.uuid in room.members]
        return sorted(mine, key=lambda room: room.last_activity, reverse=True)

    def room_title(self, room: Room, viewer: Identity) -> str:
        """A direct room is titled with the other party's name, as each side sees it in Webex."""
        if room.type == "group":
            return room.title
        other = next((uuid for uuid in room.members if uuid != viewer.uuid), viewer.uuid)
        identity = self.by_uuid(other)
        return identity.display_name if identity else ""

    # messages

    def add_message(
        self,
        room: Room,
        author: Identity,
        *,
        text: str | None,
        markdown: str | None,
        html: str | None = None,
        parent_id: str | None = None,
        attachments: list[Any] | None = None,
        files: list[str] | None = None,
        to_person: Identity | None = None,
    ) -> Message:
        if author.uuid not in room.members:
            raise StoreError(403, "The person is not a member of the room.")
        if not (text or markdown or files or attachments):
            raise StoreError(400, "One of text, markdown, files or attachments is required.")
        if text is None and markdown is not None:
            text = self._plain_text(markdown)
        if text is not None and len(text.encode()) > MAX_TEXT_BYTES:
            raise StoreError(400, f"Message text exceeds {MAX_TEXT_BYTES} bytes.")
        if parent_id is not None:
            parent_id = self._parent(parent_id, room).message_id
        now = time.time()
        message = Message(
            uuid=ids.new_uuid(),
            room_uuid=room.uuid,
            author_uuid=author.uuid,
            created=now,
            text=text,
            markdown=markdown,
            html=html,
            parent_id=parent_id,
            mentioned=self._mentions(markdown or ""),
            attachments=list(attachments or []),
            files=list(files or []),
            to_person_email=to_person.email if to_person else None,
            to_person_id=to_person.person_id if to_person else None,
        )
        self.messages[message.uuid] = message
        room.last_activity = now
        self._changed()
        return message

    def message(self, message_id: str) -> Message | None:
        message_uuid = ids.uuid_of(message_id, "MESSAGE")
        return self.messages.get(message_uuid) if message_uuid else None

    def visible_message(self, message_id: str, viewer: Identity) -> Message:
        message = self.message(message_id)
        room = self.rooms.get(message.room_uuid) if message else None
        if message is None or room is None or viewer.uuid not in room.members:
            raise StoreError(404, "Could not find a message with provided ID.")
        return message

    def delete_message(self, message: Message, requester: Identity) -> None:
        if message.author_uuid != requester.uuid:
            raise StoreError(403, "Only the author of a message can delete it.")
        del self.messages[message.uuid]
        self._changed()

    def messages_in(self, room: Room, parent_id: str | None = None) -> list[Message]:
        """Messages of a room, newest first, optionally only the replies to one parent."""
        found = [m for m in self.messages.values() if m.room_uuid == room.uuid]
        if parent_id is not None:
            parent_uuid = ids.uuid_of(parent_id, "MESSAGE")
            found = [m for m in found if m.parent_id and ids.uuid_of(m.parent_id, "MESSAGE") == parent_uuid]
        return sorted(found, key=lambda m: m.created, reverse=True)

    def _parent(self, parent_id: str, room: Room) -> Message:
        """The thread's parent. webex_bot passes the activity id (a bare UUID) as ``parentId``;
        the REST API answers with the REST id whichever form was sent."""
        parent_uuid = ids.uuid_of(parent_id, "MESSAGE")
        parent = self.messages.get(parent_uuid) if parent_uuid else None
        if parent is None or parent.room_uuid != room.uuid:
            raise StoreError(400, "Parent message not found in this room.")
        return parent

    def _mentions(self, markdown: str) -> list[str]:
        mentioned: list[str] = []
        for kind, value, _label in _MENTION.findall(markdown):
            person = self.by_person_id(value) if kind == "personId" else self.by_email(value)
            if person is not None and person.person_id not in mentioned:
                mentioned.append(person.person_id)
        return mentioned

    def _plain_text(self, markdown: str) -> str:
        """Webex's ``text`` of a markdown message shows mentions as the mentioned person's name."""

        def label(match: re.Match[str]) -> str:
            kind, value, given = match.groups()
            if given:
                return given
            person = self.by_person_id(value) if kind == "personId" else self.by_email(value)
            return person.display_name if person else value

        return _MENTION.sub(label, markdown)

    # WDM devices

    def register_device(self, owner: Identity, data: dict[str, Any], wdm_url: str, ws_base: str) -> Device:
        device_uuid = ids.new_uuid()
        device = Device(
            uuid=device_uuid,
            owner_uuid=owner.uuid,
            created=time.time(),
            data=data,
            websocket_url=f"{ws_base}/mercury/v1/apps/wx2/registrations/{device_uuid}/messages",
            url=f"{wdm_url}/devices/{device_uuid}",
        )
        self.devices[device_uuid] = device
        owned = [d for d in self.devices.values() if d.owner_uuid == owner.uuid]
        for stale in sorted(owned, key=lambda d: d.created)[:-MAX_DEVICES_PER_IDENTITY]:
            del self.devices[stale.uuid]
        self._changed()
        return device

    def devices_of(self, owner: Identity) -> list[Device]:
        """Devices of ``owner``, newest first, so a client picking the first match gets a live one."""
        owned = [d for d in self.devices.values() if d.owner_uuid == owner.uuid]
        return sorted(owned, key=lambda d: d.created, reverse=True)

    def delete_device(self, device: Device) -> None:
        self.devices.pop(device.uuid, None)
        self._changed()

    # persistence

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": 1,
            "rooms": [asdict(room) for room in self.rooms.values()],
            "messages": [asdict(message) for message in self.messages.values()],
            "devices": [asdict(device) for device in self.devices.values()],
        }

    def save(self) -> None:
        """Write the state atomically: a crash mid-write leaves the previous file intact."""
        if self.state_file is None:
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(prefix=".state-", dir=self.state_file.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as tmp:
                json.dump(self.snapshot(), tmp)
            os.replace(tmp_name, self.state_file)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    def _load(self, path: Path) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != 1:
            raise ValueError(f"{path}: unsupported state file version {data.get('version')!r}")
        try:
            self.rooms = {r["uuid"]: Room(**r) for r in data.get("rooms", [])}
            self.messages = {m["uuid"]: Message(**m) for m in data.get("messages", [])}
            # Devices of identities that were removed from the identities file are dropped.
            self.devices = {d["uuid"]: Device(**d) for d in data.get("devices", []) if d["owner_uuid"] in self._by_uuid}
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{path}: malformed state file ({exc!r}); move it aside to start afresh") from None


def load_identities(path: Path) -> list[Identity]:
    """Read and validate the identities file (a JSON list of objects)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list) or not data:
        raise ValueError(f"{path}: expected a non-empty JSON list of identities")
    identities = []
    for index, entry in enumerate(data):
        where = f"{path}: identity #{index}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected an object")
        missing = [key for key in ("name", "token", "email") if not isinstance(entry.get(key), str) or not entry[key]]
        if missing:
            raise ValueError(f"{where}: missing or empty {', '.join(missing)}")
        kind = entry.get("type", "person")
        if kind not in IDENTITY_TYPES:
            raise ValueError(f"{where}: type must be one of {', '.join(IDENTITY_TYPES)}, not {kind!r}")
        identities.append(
            Identity(
                name=entry["name"],
                token=entry["token"],
                email=entry["email"],
                type=kind,
                display_name=entry.get("display_name") or entry["name"],
            )
        )
    return identities
