# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Durations (a number or a systemd-style span such as 8h or 1h 30min) and the UTC timestamps of
state.json, as the playbooks' options and reports read and write them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*(min|sec|ms|us|hr|s|m|h|d|w)?", re.IGNORECASE)
_UNIT_SECONDS = {
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "hr": 3600,
    "d": 86400,
    "w": 604800,
    None: 1,
}
TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"


class DurationError(ValueError):
    """A duration option that is not one; the message gives examples."""


def duration_seconds(value):
    """Seconds in a duration given as a number or a systemd-style span (8h, 1h 30min, 90s)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    if not text:
        raise DurationError("empty duration")
    total, position = 0.0, 0
    for match in _SPAN.finditer(text):
        if text[position : match.start()].strip():
            break
        unit = match.group(2).lower() if match.group(2) else None
        total += float(match.group(1)) * _UNIT_SECONDS[unit]
        position = match.end()
    if text[position:].strip() or position == 0:
        raise DurationError(f"{value!r} is not a duration (examples: 120, 90s, 8h, 1h 30min)")
    return total


def human_duration(seconds):
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def parse_timestamp(text):
    """A state.json timestamp (``2026-11-28T07:00:00Z``) as an aware UTC datetime; ValueError when it is not one."""
    return datetime.strptime(text, TIMESTAMP).replace(tzinfo=UTC)
