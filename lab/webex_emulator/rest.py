"""The Webex REST API under ``/v1/``: what webexpythonsdk (through webex_bot) and the probe call.

Responses carry the fields those clients read, in Webex's shapes; lists are ``{"items": [...]}``
with an RFC 5988 ``Link: rel="next"`` header when a page is full, as webexpythonsdk expects.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from . import ids
from .store import Identity, Message, Room
from .web import ApiError, base_url, emulator, identity, json_object, max_param, ok, optional_str, required_str

routes = web.RouteTableDef()


def message_json(message: Message, room: Room, author: Identity) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": message.message_id,
        "roomId": room.room_id,
        "roomType": room.type,
        "personId": author.person_id,
        "personEmail": author.email,
        "created": ids.iso(message.created),
    }
    optional = {
        "text": message.text,
        "markdown": message.markdown,
        "html": message.html,
        "parentId": message.parent_id,
        "toPersonId": message.to_person_id,
        "toPersonEmail": message.to_person_email,
        "mentionedPeople": message.mentioned or None,
        "attachments": message.attachments or None,
        "files": message.files or None,
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    return data


def room_json(request: web.Request, room: Room, viewer: Identity) -> dict[str, Any]:
    return {
        "id": room.room_id,
        "title": emulator(request).store.room_title(room, viewer),
        "type": room.type,
        "isLocked": False,
        "isPublic": False,
        "isReadOnly": False,
        "lastActivity": ids.iso(room.last_activity),
        "creatorId": ids.encode_id("PEOPLE", room.creator_uuid),
        "created": ids.iso(room.created),
        "ownerId": ids.encode_id("ORGANIZATION", ids.ORG_UUID),
    }


def membership_json(room: Room, person: Identity) -> dict[str, Any]:
    return {
        "id": ids.encode_id("MEMBERSHIP", f"{person.uuid}:{room.uuid}"),
        "roomId": room.room_id,
        "roomType": room.type,
        "personId": person.person_id,
        "personEmail": person.email,
        "personDisplayName": person.display_name,
        "personOrgId": ids.encode_id("ORGANIZATION", ids.ORG_UUID),
        "isModerator": False,
        "isMonitor": False,
        "isRoomHidden": False,
        "created": ids.iso(room.members[person.uuid]),
    }


def page(request: web.Request, items: list[Any], limit: int, next_query: dict[str, str] | None) -> web.Response:
    """One page of items; ``next_query`` (when the page is full) becomes the Link header."""
    headers = {}
    if next_query is not None and len(items) == limit:
        url = f"{base_url(request)}{request.path}?{urlencode(next_query)}"
        headers["Link"] = f'<{url}>; rel="next"'
    return ok({"items": items}, headers=headers)


def find_person(request: web.Request, person_id: str | None, email: str | None) -> Identity:
    store = emulator(request).store
    person = store.by_person_id(person_id) if person_id else store.by_email(email) if email else None
    if person is None:
        raise ApiError(404, "Person not found.")
    return person


# people


@routes.get("/v1/people/me")
async def people_me(request: web.Request) -> web.Response:
    return ok(identity(request).to_json())


@routes.get("/v1/people/{person_id}")
async def people_get(request: web.Request) -> web.Response:
    return ok(find_person(request, request.match_info["person_id"], None).to_json())


@routes.get("/v1/people")
async def people_list(request: web.Request) -> web.Response:
    store = emulator(request).store
    email = request.query.get("email")
    found = [store.by_email(email)] if email else list(store.identities.values())
    return ok({"items": [p.to_json() for p in found if p is not None]})


# messages


@routes.post("/v1/messages")
async def messages_create(request: web.Request) -> web.Response:
    emu = emulator(request)
    author = identity(request)
    body = await json_object(request)
    room_id = optional_str(body, "roomId")
    to_id = optional_str(body, "toPersonId")
    to_email = optional_str(body, "toPersonEmail")
    if sum(1 for value in (room_id, to_id, to_email) if value) != 1:
        raise ApiError(400, "Exactly one of roomId, toPersonId or toPersonEmail is required.")
    to_person = None
    if room_id:
        room = emu.store.visible_room(room_id, author)
    else:
        to_person = find_person(request, to_id, to_email)
        room = emu.store.direct_room(author, to_person)
    attachments = body.get("attachments")
    if attachments is not None and not isinstance(attachments, list):
        attachments = [attachments]
    files = body.get("files")
    if files is not None and not (isinstance(files, list) and all(isinstance(f, str) for f in files)):
        raise ApiError(400, "files must be a list of URLs.")
    message = emu.store.add_message(
        room,
        author,
        text=optional_str(body, "text"),
        markdown=optional_str(body, "markdown"),
        html=optional_str(body, "html"),
        parent_id=optional_str(body, "parentId"),
        attachments=attachments,
        files=files,
        to_person=to_person,
    )
    emu.hub.publish(message, room, author, base_url(request))
    return ok(message_json(message, room, author))


@routes.get("/v1/messages")
async def messages_list(request: web.Request) -> web.Response:
    emu = emulator(request)
    viewer = identity(request)
    room_id = request.query.get("roomId")
    if not room_id:
        raise ApiError(400, "roomId is required.")
    room = emu.store.visible_room(room_id, viewer)
    limit = max_param(request, default=50)
    found = emu.store.messages_in(room, request.query.get("parentId"))
    if request.query.get("mentionedPeople") in ("me", viewer.person_id):
        found = [m for m in found if viewer.person_id in m.mentioned]
    before_message = request.query.get("beforeMessage")
    if before_message:
        anchor = emu.store.visible_message(before_message, viewer)
        found = [m for m in found if m.created < anchor.created]
    chosen = found[:limit]
    items = [message_json(m, room, emu.store.by_uuid(m.author_uuid) or viewer) for m in chosen]
    next_query = dict(request.query)
    if chosen:
        next_query["beforeMessage"] = chosen[-1].message_id
    return page(request, items, limit, next_query if len(found) > limit else None)


@routes.get("/v1/messages/direct")
async def messages_direct(request: web.Request) -> web.Response:
    emu = emulator(request)
    viewer = identity(request)
    other = find_person(request, request.query.get("personId"), request.query.get("personEmail"))
    room = emu.store.direct_room(viewer, other)
    items = [message_json(m, room, emu.store.by_uuid(m.author_uuid) or viewer) for m in emu.store.messages_in(room)]
    return ok({"items": items})


@routes.get("/v1/messages/{message_id}")
async def messages_get(request: web.Request) -> web.Response:
    emu = emulator(request)
    message = emu.store.visible_message(request.match_info["message_id"], identity(request))
    room = emu.store.rooms[message.room_uuid]
    return ok(message_json(message, room, emu.store.by_uuid(message.author_uuid) or identity(request)))


@routes.delete("/v1/messages/{message_id}")
async def messages_delete(request: web.Request) -> web.Response:
    emu = emulator(request)
    message = emu.store.visible_message(request.match_info["message_id"], identity(request))
    emu.store.delete_message(message, identity(request))
    return web.Response(status=204)


# rooms


@routes.get("/v1/rooms")
async def rooms_list(request: web.Request) -> web.Response:
    emu = emulator(request)
    viewer = identity(request)
    room_type = request.query.get("type")
    limit = max_param(request)
    rooms = [r for r in emu.store.rooms_of(viewer) if room_type in (None, r.type)]
    return ok({"items": [room_json(request, r, viewer) for r in rooms[:limit]]})


@routes.post("/v1/rooms")
async def rooms_create(request: web.Request) -> web.Response:
    emu = emulator(request)
    body = await json_object(request)
    title = required_str(body, "title")
    room = emu.store.create_room(title, identity(request))
    return ok(room_json(request, room, identity(request)))


@routes.get("/v1/rooms/{room_id}")
async def rooms_get(request: web.Request) -> web.Response:
    room = emulator(request).store.visible_room(request.match_info["room_id"], identity(request))
    return ok(room_json(request, room, identity(request)))


# memberships


@routes.get("/v1/memberships")
async def memberships_list(request: web.Request) -> web.Response:
    emu = emulator(request)
    viewer = identity(request)
    room_id = request.query.get("roomId")
    email = request.query.get("personEmail")
    person_id = request.query.get("personId")
    limit = max_param(request)
    if room_id:
        room = emu.store.visible_room(room_id, viewer)
        pairs = [(room, emu.store.by_uuid(uuid)) for uuid in room.members]
    else:
        pairs = [(room, viewer) for room in emu.store.rooms_of(viewer)]
    items = [
        membership_json(room, person)
        for room, person in pairs
        if person is not None
        and (email is None or person.email.lower() == email.lower())
        and (person_id is None or person.person_id == person_id)
    ]
    return ok({"items": items[:limit]})


@routes.post("/v1/memberships")
async def memberships_create(request: web.Request) -> web.Response:
    emu = emulator(request)
    body = await json_object(request)
    room_id = required_str(body, "roomId")
    room = emu.store.visible_room(room_id, identity(request))
    person = find_person(request, optional_str(body, "personId"), optional_str(body, "personEmail"))
    emu.store.add_member(room, person)
    return ok(membership_json(room, person))


# attachment actions (card submissions): the emulator has no cards, but the lookup must fail cleanly


@routes.get("/v1/attachment/actions/{action_id}")
async def attachment_action_get(request: web.Request) -> web.Response:
    raise ApiError(404, "Could not find an attachment action with provided ID.")
