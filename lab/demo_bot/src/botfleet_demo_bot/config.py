"""Settings from the environment (systemd passes them through the bot's env file)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field


class ConfigError(Exception):
    """The environment does not describe a runnable bot; the message says what to set."""


@dataclass(frozen=True)
class Settings:
    token: str = field(repr=False)  # never printed, even in a debugger or a traceback's locals
    bot_name: str
    webex_base: str | None
    approved_users: tuple[str, ...]
    approved_domains: tuple[str, ...]
    approved_rooms: tuple[str, ...]
    log_level: str
    # A lab fault: exit 1 this many seconds after each start (a canary that crash-loops after its gate).
    exit_after: float | None = None


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


def from_env(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    token = env.get("WEBEX_BOT_TOKEN", "").strip()
    if not token:
        raise ConfigError("WEBEX_BOT_TOKEN is not set: put the bot's access token in its environment file")
    base = env.get("BOTFLEET_WEBEX_BASE", "").strip().rstrip("/") or None
    if base is not None and not base.startswith(("http://", "https://")):
        raise ConfigError(f"BOTFLEET_WEBEX_BASE must be an http:// or https:// URL, not {base!r}")
    log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if not isinstance(logging.getLevelName(log_level), int):
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {log_level!r}")
    exit_after_text = env.get("BOTFLEET_DEMO_EXIT_AFTER", "").strip()
    try:
        exit_after = float(exit_after_text) if exit_after_text else None
    except ValueError:
        exit_after = -1.0
    if exit_after is not None and exit_after <= 0:
        raise ConfigError(f"BOTFLEET_DEMO_EXIT_AFTER must be a number of seconds > 0, not {exit_after_text!r}")
    return Settings(
        token=token,
        bot_name=env.get("BOTFLEET_BOT_NAME", "").strip() or "demo-bot",
        webex_base=base,
        approved_users=_split(env.get("BOTFLEET_APPROVED_USERS")),
        approved_domains=_split(env.get("BOTFLEET_APPROVED_DOMAINS")),
        approved_rooms=_split(env.get("BOTFLEET_APPROVED_ROOMS")),
        log_level=log_level,
        exit_after=exit_after,
    )
