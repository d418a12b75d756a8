"""The admin API (``/_admin/``): health, fault injection and what happened, for tests and the lab.

It needs no token, so it answers loopback clients only.
"""

from __future__ import annotations

import time

from aiohttp import web

from .faults import FaultSpecError, parse_fault
from .rest import room_json
from .store import Identity
from .web import ApiError, Emulator, emulator, json_object, ok, optional_str

routes = web.RouteTableDef()


def _known(emu: Emulator, name: str) -> Identity:
    found = emu.store.identities.get(name)
    if found is None:
        raise ApiError(404, f"No identity named {name!r}; known: {', '.join(sorted(emu.store.identities))}.")
    return found


@routes.get("/_admin/health")
async def health(request: web.Request) -> web.Response:
    emu = emulator(request)
    return ok(
        {
            "status": "ok",
            "uptime_seconds": round(time.time() - emu.started, 3),
            "identities": len(emu.store.identities),
            "connections": len(emu.hub.connections),
            "faults": len(emu.faults.to_json()),
        }
    )


@routes.get("/_admin/identities")
async def identities(request: web.Request) -> web.Response:
    """Names, emails, person ids and types; never tokens."""
    emu = emulator(request)
    items = [
        {"name": i.name, "email": i.email, "type": i.type, "display_name": i.display_name, "personId": i.person_id}
        for i in emu.store.identities.values()
    ]
    return ok({"items": items})


@routes.get("/_admin/faults")
async def faults_list(request: web.Request) -> web.Response:
    return ok(emulator(request).faults.to_json())


@routes.post("/_admin/faults/{name}")
async def fault_set(request: web.Request) -> web.Response:
    emu = emulator(request)
    target = _known(emu, request.match_info["name"])
    try:
        fault = parse_fault(await json_object(request))
    except FaultSpecError as exc:
        raise ApiError(400, str(exc)) from None
    if fault.mode == "drop":
        dropped = emu.hub.drop(target.name, abrupt=fault.abrupt)
        return ok({"name": target.name, "mode": "drop", "abrupt": fault.abrupt, "dropped": dropped})
    emu.faults.set(target.name, fault)
    return ok({"name": target.name, **fault.to_json()})


@routes.delete("/_admin/faults/{name}")
async def fault_clear(request: web.Request) -> web.Response:
    emu = emulator(request)
    target = _known(emu, request.match_info["name"])
    cleared = emu.faults.clear(target.name)
    return ok({"name": target.name, "cleared": cleared.to_json() if cleared else None})


def _named(emu, request):
    """The identity named by ``?name=`` (checked to be known), or None for all of them."""
    name = request.query.get("name")
    if name:
        _known(emu, name)
    return name


@routes.get("/_admin/events")
async def events(request: web.Request) -> web.Response:
    emu = emulator(request)
    return ok(emu.hub.events_json(_named(emu, request)))


@routes.get("/_admin/connections")
async def connections(request: web.Request) -> web.Response:
    emu = emulator(request)
    name = _named(emu, request)
    grouped: dict[str, list[dict[str, object]]] = {n: [] for n in ([name] if name else sorted(emu.store.identities))}
    now = time.time()
    for conn in emu.hub.open_connections(name):
        # stale: a stale_after_idle fault would swallow the next delivery on this websocket.
        grouped[conn.identity.name].append({**conn.to_json(), "stale": emu.hub.is_stale(conn, now)})
    return ok(grouped)


@routes.post("/_admin/rooms")
async def rooms_create(request: web.Request) -> web.Response:
    """Create a group room: ``{"title": ..., "creator": name, "members": [names]}``."""
    emu = emulator(request)
    body = await json_object(request)
    title = optional_str(body, "title")
    creator_name = optional_str(body, "creator")
    members = body.get("members", [])
    if not title or not creator_name:
        raise ApiError(400, "title and creator are required.")
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise ApiError(400, "members must be a list of identity names.")
    creator = _known(emu, creator_name)
    room = emu.store.create_room(title, creator, [_known(emu, m) for m in members])
    return ok(room_json(request, room, creator))
