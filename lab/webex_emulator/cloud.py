"""The Webex cloud services a websocket bot talks to besides the REST API.

How webex_bot (1.0.x and 1.3.x) connects, which these handlers mirror:

1. ``GET <DEFAULT_U2C_URL>?format=hostmap`` (``/u2c/api/v1/catalog``) -> ``serviceLinks.wdm``;
2. ``GET {wdm}/devices`` and reuse the first device named ``python-spark-client``, else
   ``POST {wdm}/devices`` -> the device's ``webSocketUrl``;
3. open that websocket (``Authorization: Bearer`` handshake header) and send
   ``{"id", "type": "authorization", "data": {"token": "Bearer <token>"}}``;
4. for each activity, ``GET target.url`` with ``conversations/<target.id>`` replaced by
   ``messages/<activity.id>``, read its ``id`` (the REST message id), then ``GET /v1/messages/<id>``
   and ack ``{"type": "ack", "messageId": <REST id>}`` on the websocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from aiohttp import WSMsgType, web

from . import ids
from .hub import Connection
from .store import Device
from .web import ApiError, base_url, emulator, identity, json_object, ok, ws_base_url

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

U2C_CATALOG = "/u2c/api/v1/catalog"
WDM_BASE = "/wdm/api/v1"
CONVERSATION_BASE = "/conversation/api/v1"
MERCURY_PATH = "/mercury/v1/apps/wx2/registrations/{device_id}/messages"
# Close code for a websocket whose authorization frame is missing or wrong.
CLOSE_UNAUTHORIZED = 4401


def device_json(device: Device) -> dict[str, Any]:
    return {
        **device.data,
        "url": device.url,
        "webSocketUrl": device.websocket_url,
        "creationTime": ids.iso(device.created),
        "modificationTime": ids.iso(device.created),
        "services": {},
    }


@routes.get(U2C_CATALOG)
async def u2c_catalog(request: web.Request) -> web.Response:
    base = base_url(request)
    links = {
        "wdm": f"{base}{WDM_BASE}",
        "conversation": f"{base}{CONVERSATION_BASE}",
        "hydra": f"{base}/v1",
        "u2c": f"{base}/u2c/api/v1",
    }
    return ok({"serviceLinks": links, "hostCatalog": {}, "format": request.query.get("format", "hostmap")})


@routes.get(f"{WDM_BASE}/devices")
async def wdm_devices_list(request: web.Request) -> web.Response:
    devices = emulator(request).store.devices_of(identity(request))
    return ok({"devices": [device_json(d) for d in devices]})


@routes.post(f"{WDM_BASE}/devices")
async def wdm_devices_register(request: web.Request) -> web.Response:
    emu = emulator(request)
    owner = identity(request)
    body = await json_object(request)
    if not isinstance(body.get("name"), str) or not body["name"]:
        raise ApiError(400, "A device needs a name.")
    device = emu.store.register_device(owner, body, f"{base_url(request)}{WDM_BASE}", ws_base_url(request))
    emu.hub.record_registration(owner)
    log.info("registered device %s for %s", device.uuid, owner.name)
    return ok(device_json(device))


def _owned_device(request: web.Request) -> Device:
    device = emulator(request).store.devices.get(request.match_info["device_id"])
    if device is None or device.owner_uuid != identity(request).uuid:
        raise ApiError(404, "Device not found.")
    return device


@routes.get(WDM_BASE + "/devices/{device_id}")
async def wdm_device_get(request: web.Request) -> web.Response:
    return ok(device_json(_owned_device(request)))


@routes.delete(WDM_BASE + "/devices/{device_id}")
async def wdm_device_delete(request: web.Request) -> web.Response:
    emulator(request).store.delete_device(_owned_device(request))
    return web.Response(status=204)


@routes.get(CONVERSATION_BASE + "/messages/{activity_id}")
async def conversation_message(request: web.Request) -> web.Response:
    """The lookup webex_bot derives from ``target.url``: activity UUID -> REST message id."""
    emu = emulator(request)
    message = emu.store.visible_message(request.match_info["activity_id"], identity(request))
    author = emu.store.by_uuid(message.author_uuid)
    return ok(
        {
            "id": message.message_id,
            "objectType": "activity",
            "verb": "post",
            "published": ids.iso(message.created),
            "actor": {"id": message.author_uuid, "emailAddress": author.email if author else None},
            "target": {"id": message.room_uuid, "objectType": "conversation"},
        }
    )


@routes.get(CONVERSATION_BASE + "/attachment/actions/{activity_id}")
async def conversation_attachment_action(request: web.Request) -> web.Response:
    raise ApiError(404, "Could not find an attachment action with provided ID.")


@routes.get(MERCURY_PATH)
async def mercury(request: web.Request) -> web.StreamResponse:
    """One device's websocket: authorize, then deliver activities and account for acks and pings."""
    emu = emulator(request)
    device = emu.store.devices.get(request.match_info["device_id"])
    if device is None:
        # webex_bot reacts to a 404 handshake by registering a new device.
        raise web.HTTPNotFound(text="unknown device registration")
    owner = emu.store.by_uuid(device.owner_uuid)
    if owner is None:
        raise web.HTTPNotFound(text="unknown device registration")
    header = request.headers.get("Authorization")
    if header is not None and header != f"Bearer {owner.token}":
        raise web.HTTPUnauthorized(text="invalid bearer token for this device")

    # autoping off: we answer the client's pings ourselves so that they can be counted.
    ws = web.WebSocketResponse(heartbeat=emu.settings.heartbeat, autoping=False)
    await ws.prepare(request)
    conn = Connection(
        id=ids.new_uuid(),
        identity=owner,
        device_uuid=device.uuid,
        ws=ws,
        request=request,
        user_agent=request.headers.get("User-Agent", ""),
    )
    emu.hub.open(conn)
    log.info("websocket %s opened for %s", conn.id, owner.name)
    guard = asyncio.create_task(_close_if_unauthorized(conn, emu.settings.auth_timeout))
    try:
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                await _on_text(conn, msg.data)
            elif msg.type is WSMsgType.PING:
                await ws.pong(msg.data)
                conn.client_pings_answered += 1
                conn.last_client_ping_at = time.time()
            elif msg.type is WSMsgType.PONG:
                conn.pongs_received += 1
                conn.last_pong_at = time.time()
            elif msg.type is WSMsgType.ERROR:
                log.info("websocket %s error: %s", conn.id, ws.exception())
    finally:
        guard.cancel()
        emu.hub.close(conn)
        log.info("websocket %s closed for %s (code %s)", conn.id, owner.name, ws.close_code)
    return ws


async def _on_text(conn: Connection, data: str) -> None:
    try:
        frame = json.loads(data)
    except json.JSONDecodeError:
        log.info("websocket %s sent a frame that is not JSON; ignored", conn.id)
        return
    if not isinstance(frame, dict):
        return
    hub = emulator(conn.request).hub
    kind = frame.get("type")
    if kind == "authorization":
        token = frame.get("data", {}).get("token") if isinstance(frame.get("data"), dict) else None
        if not hub.authorize(conn, token or ""):
            log.info("websocket %s of %s: authorization refused", conn.id, conn.identity.name)
            await conn.ws.close(code=CLOSE_UNAUTHORIZED, message=b"authorization failed")
        return
    if kind == "ack":
        hub.record_ack(conn, frame.get("messageId"))


async def _close_if_unauthorized(conn: Connection, timeout: float) -> None:
    await asyncio.sleep(timeout)
    if not conn.authorized:
        with contextlib.suppress(Exception):
            await conn.ws.close(code=CLOSE_UNAUTHORIZED, message=b"no authorization frame")
