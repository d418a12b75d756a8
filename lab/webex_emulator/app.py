"""Application wiring: routes, middlewares, persistence and the server's lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from . import admin, cloud, rest
from .faults import FaultRegistry
from .hub import Hub
from .store import Store, StoreError, load_identities
from .web import EMULATOR, IDENTITY_KEY, ApiError, Emulator, Settings, error_response

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Writes of the state file are coalesced: a burst of messages costs one write.
SAVE_DELAY_SECONDS = 0.2
PUBLIC_PREFIXES = ("/mercury/",)
ADMIN_PREFIX = "/_admin/"


def is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves in Webex's JSON shape, whichever layer raised it."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message)
    except StoreError as exc:
        return error_response(exc.status, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(exc.status, exc.text or exc.reason)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bearer token -> identity for the cloud and REST paths; loopback-only for the admin API.

    A ``rest_error`` fault of the caller is applied here, after authentication, so that it hits
    exactly that identity's calls.
    """
    path = request.path
    if path.startswith(ADMIN_PREFIX):
        if not is_loopback(request.remote):
            raise ApiError(403, "The admin API answers loopback clients only.")
        return await handler(request)
    if path.startswith(PUBLIC_PREFIXES):
        return await handler(request)
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    emu = request.app[EMULATOR]
    caller = emu.store.by_token(token.strip()) if scheme.lower() == "bearer" else None
    if caller is None:
        raise ApiError(401, "The request requires a valid access token set in the Authorization request header.")
    request[IDENTITY_KEY] = caller
    fault = emu.faults.get(caller.name)
    if fault is not None and fault.mode == "rest_error":
        raise ApiError(fault.status, f"Injected fault: rest_error {fault.status} for {caller.name}.")
    return await handler(request)


def create_app(
    identities_file: Path,
    *,
    state_file: Path | None = None,
    heartbeat: float = 15.0,
    auth_timeout: float = 10.0,
    public_url: str | None = None,
) -> web.Application:
    store = Store(load_identities(identities_file), state_file)
    faults = FaultRegistry()
    emu = Emulator(
        store=store,
        faults=faults,
        hub=Hub(store, faults),
        settings=Settings(heartbeat=heartbeat, auth_timeout=auth_timeout, public_url=public_url),
        started=time.time(),
    )
    app = web.Application(middlewares=[errors_middleware, auth_middleware])
    app[EMULATOR] = emu
    app.add_routes(admin.routes)
    app.add_routes(cloud.routes)
    app.add_routes(rest.routes)
    if state_file is not None:
        _persist(app, store)

    async def close_websockets(_app: web.Application) -> None:
        await emu.hub.close_all()

    app.on_shutdown.append(close_websockets)
    return app


def _persist(app: web.Application, store: Store) -> None:
    pending: list[asyncio.TimerHandle] = []

    def save_now() -> None:
        pending.clear()
        try:
            store.save()
        except OSError as exc:
            log.error("could not write state file %s: %s", store.state_file, exc)

    def schedule() -> None:
        if not pending:
            pending.append(asyncio.get_running_loop().call_later(SAVE_DELAY_SECONDS, save_now))

    async def final_save(_app: web.Application) -> None:
        for handle in pending:
            handle.cancel()
        save_now()

    store.on_change = schedule
    app.on_cleanup.append(final_save)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


async def serve(app: web.Application, host: str, port: int, announce: Callable[[str], None]) -> None:
    """Serve until SIGTERM or SIGINT, then close websockets and save state.

    The socket is bound here rather than by aiohttp so that ``port=0`` yields the real port before
    the ready line is announced.
    """
    runner = web.AppRunner(app, shutdown_timeout=2.0, access_log_format="%r %s %Tfs")
    await runner.setup()
    sock = _bind(host, port)
    site = web.SockSite(runner, sock)
    await site.start()
    real_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    announce(f"http://{shown_host}:{real_port}")
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signum)
        await runner.cleanup()
