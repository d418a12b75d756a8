"""Injected failure modes, per identity.

The lab exists to reproduce the incident (a websocket that stays open and answers pings, while the
backend routes nothing to it) and its neighbours. A fault is set per identity through the admin
API and stays until cleared, except ``drop``, which is an action: it closes that identity's open
websockets once, and the client is free to reconnect.

``blackhole``   deliveries to the identity are swallowed; its websockets stay open, pings are
                answered both ways, acks are still accepted. Recorded as ``blackholed``.
                ``"until_reconnect": true`` makes deaf only the websockets open when the fault was
                set: a bot that reconnects (a restart) is delivered to again, as in the incident.
``delay``       each delivery waits ``seconds`` before it is sent.
``stale_after_idle``
                a websocket that has had nothing delivered for ``seconds`` (since it opened or
                since its last delivered activity) goes stale: pings are still answered both
                ways, but its next delivery is swallowed (recorded ``stale``) and the server
                then closes it, so the client reconnects and the next message gets through.
                ``user_agent``, a regular expression searched in the handshake's User-Agent,
                limits it to matching clients. See ``Fault.is_stale``.
``rest_error``  every authenticated HTTP call of the identity (REST, U2C, WDM, conversation)
                answers ``status`` (5xx) with a Webex-shaped error body.
``drop``        close the identity's websockets now (``abrupt: true`` cuts TCP without a close
                frame, like a NAT timeout); not stored.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

STORED_MODES = ("blackhole", "delay", "rest_error", "stale_after_idle")
ACTION_MODES = ("drop",)
MODES = STORED_MODES + ACTION_MODES
MAX_DELAY_SECONDS = 3600.0
# The incident idled 8+ hours; a day leaves room to replay it at its real scale.
MAX_IDLE_SECONDS = 86400.0


class FaultSpecError(ValueError):
    """The admin API was given a fault it cannot apply."""


@dataclass(frozen=True)
class Fault:
    mode: str
    seconds: float = 0.0
    status: int = 503
    abrupt: bool = False
    since: float = 0.0
    user_agent: str | None = None  # stale_after_idle: regex searched in the handshake's User-Agent
    until_reconnect: bool = False  # blackhole: only websockets opened before ``since`` are deaf

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"mode": self.mode, "since": self.since}
        if self.mode in ("delay", "stale_after_idle"):
            data["seconds"] = self.seconds
        if self.mode == "stale_after_idle":
            data["user_agent"] = self.user_agent
        if self.mode == "rest_error":
            data["status"] = self.status
        if self.mode == "blackhole":
            data["until_reconnect"] = self.until_reconnect
        return data

    def deafens(self, connected_at: float) -> bool:
        """Whether a blackhole swallows deliveries to a websocket opened at ``connected_at``."""
        return self.mode == "blackhole" and (not self.until_reconnect or connected_at <= self.since)

    def selects(self, user_agent: str) -> bool:
        """Whether a websocket client with this handshake User-Agent is subject to the fault."""
        return self.user_agent is None or re.search(self.user_agent, user_agent) is not None

    def is_stale(self, user_agent: str, idle_since: float, now: float) -> bool:
        """The stale_after_idle rule: a selected websocket with nothing delivered for ``seconds``.

        ``idle_since`` is when the connection opened or last had an activity delivered; pings,
        pongs and acks do not count, which is why nothing looks wrong until a message is lost.
        ``now`` is passed in so that the rule can be checked without waiting.
        """
        return self.mode == "stale_after_idle" and self.selects(user_agent) and now - idle_since >= self.seconds


def parse_fault(spec: Any) -> Fault:
    """Validate an admin request body into a Fault; the message says what to change."""
    if not isinstance(spec, dict):
        raise FaultSpecError('expected a JSON object such as {"mode": "blackhole"}')
    mode = spec.get("mode")
    if mode not in MODES:
        raise FaultSpecError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    seconds = spec.get("seconds", 0)
    status = spec.get("status", 503)
    abrupt = spec.get("abrupt", False)
    user_agent = spec.get("user_agent")
    until_reconnect = spec.get("until_reconnect", False)
    if "until_reconnect" in spec and (mode != "blackhole" or not isinstance(until_reconnect, bool)):
        raise FaultSpecError("until_reconnect applies to blackhole only, and is true or false")
    if mode == "delay" and not _number_in(seconds, MAX_DELAY_SECONDS):
        raise FaultSpecError(f"delay needs seconds, a number in (0, {MAX_DELAY_SECONDS:g}]")
    if mode == "stale_after_idle" and not _number_in(seconds, MAX_IDLE_SECONDS):
        raise FaultSpecError(f"stale_after_idle needs seconds, a number in (0, {MAX_IDLE_SECONDS:g}]")
    if user_agent is not None:
        if mode != "stale_after_idle":
            raise FaultSpecError("user_agent applies to stale_after_idle only")
        if not isinstance(user_agent, str):
            raise FaultSpecError("user_agent must be a string, a regular expression")
        try:
            re.compile(user_agent)
        except re.error as exc:
            raise FaultSpecError(f"user_agent is not a valid regular expression: {exc}") from None
    if mode == "rest_error" and (isinstance(status, bool) or not isinstance(status, int) or not 500 <= status <= 599):
        raise FaultSpecError("rest_error needs status, an integer from 500 to 599")
    if not isinstance(abrupt, bool):
        raise FaultSpecError("abrupt must be true or false")
    return Fault(
        mode=mode,
        seconds=float(seconds),
        status=status,
        abrupt=abrupt,
        since=time.time(),
        user_agent=user_agent,
        until_reconnect=until_reconnect,
    )


def _number_in(value: Any, maximum: float) -> bool:
    """A JSON number (not a boolean) in (0, maximum]."""
    return not isinstance(value, bool) and isinstance(value, int | float) and 0 < value <= maximum


class FaultRegistry:
    """The stored faults; one per identity (setting a new one replaces the old)."""

    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}

    def set(self, name: str, fault: Fault) -> None:
        if fault.mode not in STORED_MODES:
            raise FaultSpecError(f"{fault.mode} is an action, not a stored fault")
        self._faults[name] = fault

    def clear(self, name: str) -> Fault | None:
        return self._faults.pop(name, None)

    def get(self, name: str) -> Fault | None:
        return self._faults.get(name)

    def mode(self, name: str) -> str | None:
        fault = self._faults.get(name)
        return fault.mode if fault else None

    def to_json(self) -> dict[str, dict[str, Any]]:
        return {name: fault.to_json() for name, fault in sorted(self._faults.items())}
