"""Webex-shaped identifiers and timestamps.

Webex REST ids are base64 of ``ciscospark://us/<KIND>/<uuid>`` while the websocket (Mercury) side
speaks in bare UUIDs. Clients such as webex_bot translate between the two, so the emulator keeps
both forms and derives one from the other instead of inventing a third scheme.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from datetime import UTC, datetime

# A fixed namespace keeps person and direct-room ids stable across restarts of the emulator.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://botfleet.invalid/webex-emulator")
ORG_UUID = str(uuid.uuid5(NAMESPACE, "org:botfleet-lab"))


def encode_id(kind: str, raw_uuid: str) -> str:
    """Return the REST id of a resource, e.g. ``encode_id("PEOPLE", uuid)``.

    Webex drops the base64 padding; so do we, so ids look like the real ones.
    """
    raw = f"ciscospark://us/{kind}/{raw_uuid}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_id(rest_id: str) -> tuple[str, str] | None:
    """Return ``(kind, uuid)`` of a REST id, or None when it is not one of ours."""
    padded = rest_id + "=" * (-len(rest_id) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    prefix = "ciscospark://us/"
    if not raw.startswith(prefix):
        return None
    kind, _slash, value = raw[len(prefix) :].partition("/")
    if not kind or not value:
        return None
    return kind, value


def uuid_of(rest_or_uuid: str, kind: str) -> str | None:
    """Accept either a REST id of ``kind`` or a bare UUID (Mercury form) and return the UUID."""
    decoded = decode_id(rest_or_uuid)
    if decoded is not None:
        return decoded[1] if decoded[0] == kind else None
    try:
        return str(uuid.UUID(rest_or_uuid))
    except ValueError:
        return None


def stable_uuid(*parts: str) -> str:
    """A UUID derived from ``parts``: same inputs, same id, on every run."""
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))


def new_uuid() -> str:
    return str(uuid.uuid4())


def tracking_id() -> str:
    return f"EMULATOR_{uuid.uuid4()}"


def now_iso() -> str:
    """UTC timestamp in the format Webex returns (millisecond precision, ``Z`` suffix)."""
    return iso(time.time())


def iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
