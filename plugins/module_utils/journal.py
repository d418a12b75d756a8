# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bot's deployment journal in its state.json: record a verdict, read the history.

The journal is the ``verdicts`` and ``history`` lists of ``<state_dir>/<bot>/state.json``, plus the
two marks a verdict can set: the bot's canary mark (``canary``) and its last probe (``last_probe``).
The release store (module_utils/release.py) owns the file and its lock; this module decides what
a verdict writes. The ``journal`` module and ``botfleetctl`` use it.

Standard library only.
"""

from __future__ import annotations

import time

from ansible_collections.botfleet.deploy.plugins.module_utils.release import ReleaseError, check_release_id
from ansible_collections.botfleet.deploy.plugins.module_utils.venv import format_timestamp

RECORD_EVENTS = ("canary", "rollout", "rollback", "gate", "soak", "provision", "adopt")
RECORD_VERDICTS = ("passed", "failed")
VERDICT_LIMIT = 50


def verdict_entry(record, current, now=None):
    """The journal entry of ``record`` ({event, verdict, release_id, reason, latency, venv_id, rows}).

    ``current`` is the release the bot runs, which the verdict is about unless it names one.
    Raises ReleaseError, saying what is wrong, for an unknown event or verdict or a bad latency.
    """
    record = record or {}
    event, verdict = record.get("event"), record.get("verdict")
    if event not in RECORD_EVENTS or verdict not in RECORD_VERDICTS:
        raise ReleaseError(
            f"record needs event ({', '.join(RECORD_EVENTS)}) and verdict ({', '.join(RECORD_VERDICTS)}); "
            f"got event={event!r} verdict={verdict!r}"
        )
    entry = {
        "event": event,
        "verdict": verdict,
        "release": record.get("release_id") or current,
        "at": format_timestamp(time.time() if now is None else now),
        "reason": str(record.get("reason") or ""),
    }
    if event == "soak" and isinstance(record.get("rows"), list):
        entry["rows"] = record["rows"]
    if record.get("venv_id"):
        check_release_id(record["venv_id"])
        entry["venv"] = record["venv_id"]
    if record.get("latency") not in (None, ""):
        try:
            entry["latency"] = round(float(record["latency"]), 3)
        except (TypeError, ValueError) as exc:
            raise ReleaseError(f"record latency {record['latency']!r} is not a number of seconds") from exc
    return entry


def apply_verdict(state, entry, record, current):
    """Append ``entry`` to ``state`` (a state.json mapping) and set the marks it sets."""
    state["verdicts"] = [*(state.get("verdicts") or [])[-(VERDICT_LIMIT - 1) :], entry]
    if entry["event"] == "canary":
        mark = state.get("canary") or {}
        kept = mark.get("verdict") == "passed" and mark.get("release") == current
        new_mark = entry
        if entry["verdict"] == "passed" and kept and mark.get("release") == entry["release"]:
            # A canary run again on its release keeps soaking since it first passed.
            new_mark = dict(entry, at=mark["at"], confirmed_at=entry["at"])
        if entry["verdict"] == "passed" or not kept or record.get("switched") is not False:
            # A canary that failed before its switch (a failed build) leaves the bot, and the
            # passed mark of the release it still runs, as they were.
            state["canary"] = new_mark
    if entry["event"] == "adopt" and entry["verdict"] == "passed":
        # Where the bot logged while it ran by hand: its old log file stays there (status.yml says so).
        state["adopted_from"] = {"at": entry["at"], "release": entry["release"], "log": str(record.get("log") or "")}
    if "latency" in entry or (entry["event"] == "gate" and record.get("probed") is not False):
        state["last_probe"] = {
            "at": entry["at"],
            "release": entry["release"],
            "verdict": entry["verdict"],
            "latency": entry.get("latency"),
        }


def record_verdict(store, record, check_mode=False):
    """Record ``record`` in the bot's journal under its lock; return the entry (not written in check mode)."""
    entry = verdict_entry(record, store.current())
    if check_mode:
        return entry
    with store.lock():
        state = store.read_state()
        apply_verdict(state, entry, record or {}, store.current())
        store.write_state(state)
    return entry


def read_journal(store, limit):
    """What the journal says of the bot: current and previous release, marks, the last ``limit`` entries."""
    state = store.read_state()
    return {
        "current_id": store.current(),
        "previous_id": state.get("previous"),
        "canary": state.get("canary"),
        "last_probe": state.get("last_probe"),
        "verdicts": (state.get("verdicts") or [])[-limit:] if limit else [],
        "history": (state.get("history") or [])[-limit:] if limit else [],
    }
