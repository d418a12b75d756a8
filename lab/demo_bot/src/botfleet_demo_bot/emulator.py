"""Point webex_bot at a Webex emulator instead of the real cloud.

webex_bot offers no constructor argument or environment variable for its endpoints; they are
module globals of ``webex_bot.websockets.webex_websocket_client`` (the same names in 1.0.x and
1.3.x), read at call time. So the launcher rebinds them before it constructs the bot:

- ``DEFAULT_U2C_URL``: the service catalog, which yields the WDM (device registration) URL;
- ``ssl_context``: None for ``ws://``, since ``websockets.connect`` refuses an SSL context there;
- ``WebexAPI``: the webexpythonsdk client class, bound by name; a subclass forces ``base_url``.

Proxy environment variables are removed as well: requests and websockets >= 15 honour them, and
the emulator is on loopback.
"""

from __future__ import annotations

import os
from typing import Any

U2C_PATH = "/u2c/api/v1/catalog"
REST_PATH = "/v1/"
_PATCHED = "_botfleet_emulator_base"


def drop_proxy_environment(environ: dict[str, str] | None = None) -> list[str]:
    """Remove ``*_proxy`` variables (any case); return the names removed (values may hold secrets)."""
    env = os.environ if environ is None else environ
    removed = [name for name in list(env) if name.lower().endswith("_proxy")]
    for name in removed:
        del env[name]
    return sorted(removed)


def point_webex_bot_at(base_url: str) -> None:
    """Make webex_bot (1.0.x and 1.3.x) talk to ``base_url``; call before constructing the bot."""
    from webex_bot.websockets import webex_websocket_client as client

    missing = [name for name in ("DEFAULT_U2C_URL", "ssl_context", "WebexAPI") if not hasattr(client, name)]
    if missing:
        # Refuse rather than silently reach the real cloud with a lab token.
        raise RuntimeError(
            f"this webex_bot version has no {', '.join(missing)} in {client.__name__}; "
            "the emulator redirection does not know how to point it at BOTFLEET_WEBEX_BASE"
        )
    base = base_url.rstrip("/")
    client.DEFAULT_U2C_URL = base + U2C_PATH
    if base.startswith("http://"):
        client.ssl_context = None
    sdk_class = getattr(client.WebexAPI, _PATCHED + "_parent", client.WebexAPI)
    rest_base = base + REST_PATH

    class EmulatorWebexAPI(sdk_class):  # type: ignore[misc,valid-type]
        """webexpythonsdk's client with the emulator's REST base URL."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["base_url"] = rest_base
            super().__init__(*args, **kwargs)

    setattr(EmulatorWebexAPI, _PATCHED, base)
    setattr(EmulatorWebexAPI, _PATCHED + "_parent", sdk_class)
    client.WebexAPI = EmulatorWebexAPI
