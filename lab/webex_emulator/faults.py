"""Injected failure modes, per identity.

The lab exists to reproduce the incident (a websocket that stays open and answers pings, while the
backend routes nothing to it) and its neighbours. A fault is set per identity through the admin
API and stays until cleared, except ``drop``, which is an action: it closes that identity's open
websockets once, and the client is free to reconnect.

``blackhole``   deliveries to the identity are swallowed; its websockets stay open, pings are
                answered both ways, acks are still accepted. Recorded as ``blackholed``.
``delay``       each delivery waits ``seconds`` before it is sent.
``rest_error``  every authenticated HTTP call of the identity (REST, U2C, WDM, conversation)
                answers ``status`` (5xx) with a Webex-shaped error body.
``drop``        close the identity's websockets now (``abrupt: true`` cuts TCP without a close
                frame, like a NAT timeout); not stored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

STORED_MODES = ("blackhole", "delay", "rest_error")
ACTION_MODES = ("drop",)
MODES = STORED_MODES + ACTION_MODES
MAX_DELAY_SECONDS = 3600.0


class FaultSpecError(ValueError):
    """The admin API was given a fault it cannot apply."""


@dataclass(frozen=True)
class Fault:
    mode: str
    seconds: float = 0.0
    status: int = 503
    abrupt: bool = False
    since: float = 0.0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"mode": self.mode, "since": self.since}
        if self.mode == "delay":
            data["seconds"] = self.seconds
        if self.mode == "rest_error":
            data["status"] = self.status
        return data


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
    if mode == "delay":
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= MAX_DELAY_SECONDS:
            raise FaultSpecError(f"delay needs seconds, a number in (0, {MAX_DELAY_SECONDS:g}]")
    if mode == "rest_error" and (isinstance(status, bool) or not isinstance(status, int) or not 500 <= status <= 599):
        raise FaultSpecError("rest_error needs status, an integer from 500 to 599")
    if not isinstance(abrupt, bool):
        raise FaultSpecError("abrupt must be true or false")
    return Fault(mode=mode, seconds=float(seconds), status=status, abrupt=abrupt, since=time.time())


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
