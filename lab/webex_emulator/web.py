"""HTTP plumbing shared by the route modules: the shared context, errors, JSON bodies, base URLs.

Errors are answered the way Webex answers them (``message``, ``errors``, ``trackingId``), because
webexpythonsdk and the probe read those fields when they report a failure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import ids
from .faults import FaultRegistry
from .hub import Hub
from .store import Identity, Store


@dataclass
class Settings:
    heartbeat: float
    auth_timeout: float
    public_url: str | None


@dataclass
class Emulator:
    """Everything a handler needs, stored once on the application."""

    store: Store
    faults: FaultRegistry
    hub: Hub
    settings: Settings
    started: float


EMULATOR = web.AppKey("emulator", Emulator)
IDENTITY_KEY = "webex_emulator.identity"


class ApiError(Exception):
    """Raised by handlers; the error middleware turns it into a Webex-shaped response."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def emulator(request: web.Request) -> Emulator:
    return request.app[EMULATOR]


def identity(request: web.Request) -> Identity:
    """The authenticated caller (set by the auth middleware)."""
    return request[IDENTITY_KEY]


def error_response(status: int, message: str) -> web.Response:
    tracking = ids.tracking_id()
    body = {"message": message, "errors": [{"description": message}], "trackingId": tracking}
    return web.json_response(body, status=status, headers={"trackingid": tracking})


def ok(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers)


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object; 400 for anything else, as Webex does."""
    raw = await request.read()
    if not raw:
        raise ApiError(400, "The request body is empty; a JSON object is required.")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"Unable to parse the request body as JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return body


def optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{key} must be a string.")
    return value


def required_str(body: dict[str, Any], key: str) -> str:
    """A non-empty string field of a request body, as Webex requires it (400 otherwise)."""
    value = optional_str(body, key)
    if not value:
        raise ApiError(400, f"{key} is required.")
    return value


def max_param(request: web.Request, default: int = 100, limit: int = 1000) -> int:
    raw = request.query.get("max", str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"max must be an integer, not {raw!r}.") from None
    if not 1 <= value <= limit:
        raise ApiError(400, f"max must be between 1 and {limit}.")
    return value


def base_url(request: web.Request) -> str:
    """The emulator's own base URL as the client reached it (or ``--public-url``)."""
    configured = emulator(request).settings.public_url
    return configured.rstrip("/") if configured else f"{request.scheme}://{request.host}"


def ws_base_url(request: web.Request) -> str:
    base = base_url(request)
    return "wss://" + base[len("https://") :] if base.startswith("https://") else "ws://" + base[len("http://") :]
