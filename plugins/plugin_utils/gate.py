# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gate's verdict, the rollout's canary check and a bot's drift, from registered task results."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

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
_TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"


class GateError(ValueError):
    pass


def duration_seconds(value):
    """Seconds in a duration given as a number or a systemd-style span (8h, 1h 30min, 90s)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    if not text:
        raise GateError("empty duration")
    total, position = 0.0, 0
    for match in _SPAN.finditer(text):
        if text[position : match.start()].strip():
            break
        unit = match.group(2).lower() if match.group(2) else None
        total += float(match.group(1)) * _UNIT_SECONDS[unit]
        position = match.end()
    if text[position:].strip() or position == 0:
        raise GateError(f"{value!r} is not a duration (examples: 120, 90s, 8h, 1h 30min)")
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


def _skipped(result):
    return not result or result.get("skipped")


def gate_verdict(unit, venv, probe):
    """Combine the gate's three checks into {passed, reasons, latency, checks}.

    Each argument is a registered result (failed_when: false); a skipped or
    missing probe means no probe is configured (or the unit was not healthy).
    """
    reasons = []
    checks = {}
    if _skipped(unit):
        checks["unit"] = "skipped"
    elif unit.get("failed"):
        reasons.append(f"unit: {unit.get('msg', 'failed')}")
        checks["unit"] = "failed"
    else:
        checks["unit"] = f"passed (up {unit.get('uptime', 0):.0f}s, {unit.get('restarts', 0)} restarts)"

    if _skipped(venv):
        checks["venv"] = "skipped"
    elif venv.get("failed"):
        reasons.append(f"venv: {venv.get('msg', 'failed')}")
        checks["venv"] = "failed"
    else:
        problems = [
            f"{p['name']} wants {p['wanted']}, installed {p['installed'] or 'none'}"
            for p in (venv.get("pins") or {}).values()
            if not p.get("satisfied")
        ]
        pending = sorted(
            {pkg for u in (venv.get("units") or {}).values() for pkg in u.get("newer_packages", [])}
            | {"current" for u in (venv.get("units") or {}).values() if u.get("switched_links")}
        )
        if problems:
            reasons.append("venv: pins not satisfied: " + "; ".join(problems))
        if venv.get("restart_pending"):
            reasons.append(
                "venv: restart pending, the process runs code older than installed (" + ", ".join(pending) + ")"
            )
        checks["venv"] = "failed" if problems or venv.get("restart_pending") else "passed"

    latency = None
    if _skipped(probe):
        if checks["unit"] == "failed":
            checks["probe"] = "skipped, the unit is not healthy"
        else:
            checks["probe"] = "not configured"
    elif probe.get("failed"):
        reasons.append(f"probe: {probe.get('msg', 'failed')}")
        checks["probe"] = "failed"
    else:
        latency = probe.get("latency")
        checks["probe"] = f"passed ({latency:.2f}s)" if latency is not None else "passed"
    summary = ", ".join(f"{name} {word}" for name, word in checks.items())
    return {"passed": not reasons, "reasons": reasons, "latency": latency, "checks": checks, "summary": summary}


def _parse_time(text):
    return datetime.strptime(text, _TIMESTAMP).replace(tzinfo=UTC)


def canary_check(bots, soak, now=None):
    """Decide whether a rollout may start.

    ``bots`` maps bot name to {target: release id the rollout would make of it, venv: that
    release's venv id, current: release id it runs, canary: its canary mark or None}. A
    bot's release id covers its own configuration, so bots share venv ids, not release ids:
    every venv the rollout would deploy must have a passed canary mark on a bot that still
    runs the release it passed, which is also what the rollout would make of it, older than
    ``soak``. Returns {ok, canaries: {venv id: bot}, reason}.
    """
    now = now or datetime.now(UTC)
    soak_seconds = duration_seconds(soak)
    canaries, waiting, missing = {}, [], []
    for venv in sorted({info.get("venv") or info["target"] for info in bots.values()}):
        candidates = [
            (name, info["canary"])
            for name, info in sorted(bots.items())
            if info.get("canary")
            and (info["canary"].get("venv") or info["canary"].get("release")) == venv
            and info["canary"].get("verdict") == "passed"
            and info.get("current") == info["canary"].get("release") == info.get("target")
        ]
        if not candidates:
            missing.append(venv)
            continue
        # The longest-soaked canary of this venv decides.
        name, mark = min(candidates, key=lambda item: item[1]["at"])
        soaked = (now - _parse_time(mark["at"])).total_seconds()
        if soaked < soak_seconds:
            ready_at = _parse_time(mark["at"]) + timedelta(seconds=soak_seconds)
            waiting.append(
                f"canary {name} has soaked {human_duration(soaked)} of {human_duration(soak_seconds)}; run again "
                f"after {ready_at.strftime('%H:%M')} UTC or pass -e botfleet_canary_soak=0"
            )
        canaries[venv] = name
    if missing:
        marks = (
            "; ".join(
                f"{name}: {info['canary']['verdict']} on {info['canary']['release']}"
                + ("" if info.get("current") == info["canary"].get("release") else f", runs {info.get('current')} now")
                for name, info in sorted(bots.items())
                if info.get("canary")
            )
            or "no bot has a canary mark"
        )
        return {
            "ok": False,
            "canaries": canaries,
            "reason": (
                f"no bot runs a passed canary of venv {', '.join(missing)} (what the rollout would deploy) "
                f"with the configuration the rollout would give it; run canary.yml -l <bot> first ({marks})"
            ),
        }
    if waiting:
        return {"ok": False, "canaries": canaries, "reason": "; ".join(waiting)}
    return dict({"ok": True, "canaries": canaries, "reason": ""}, **soak_plan(bots, canaries))


def soak_plan(bots, canaries):
    """Whose soak the rollout reads, since when, and from which bot of each VM (one call per VM).

    The baseline is every other bot still on another release than the rollout's target: the
    bots the canary is compared with, over the same window (since the oldest canary mark).
    """
    names = set(canaries.values())
    baseline = sorted(
        name for name, info in bots.items() if name not in names and info.get("current") != info["target"]
    )
    since = min(bots[name]["canary"]["at"] for name in names)
    readers = {}
    for name in sorted(names) + baseline:
        vm = bots[name].get("vm") or name
        readers.setdefault(vm, []).append(name)
    return {"baseline": baseline, "since": since, "readers": {group[0]: group for group in readers.values()}}


def _file_drift(path, actual, wanted):
    if not actual or not actual.get("exists"):
        return [f"{path} is missing"]
    reasons = []
    if wanted.get("type") and actual.get("type") != wanted["type"]:
        reasons.append(f"{path} is a {actual.get('type')}, not a {wanted['type']}")
    if wanted.get("checksum") and actual.get("checksum") != wanted["checksum"]:
        reasons.append(f"{path} differs from what the deployment writes")
    for key in ("mode", "owner", "group"):
        if wanted.get(key) is not None and str(actual.get(key)) != str(wanted[key]):
            reasons.append(f"{path} has {key} {actual.get(key)}, not {wanted[key]}")
    return reasons


def deployment_drift(facts, expected):
    """What keeps a bot from being exactly as a deployment would leave it, in words.

    ``expected``: {release: id the deployment would run, current: id the bot's
    ``current`` points to, unit: unit name, files: {path: {type, checksum, mode,
    owner, group}}}. ``facts`` is the venv_facts result of the bot's ``current``
    venv read with that unit and those files (unused when the release differs).
    An empty list means there is nothing to deploy: same release, files as the
    templates render them, unit enabled and active, and no restart pending.
    """
    release, current = expected.get("release"), expected.get("current")
    if not current:
        return ["has no release yet"]
    if current != release:
        return [f"runs release {current}, not {release}"]
    reasons = []
    files = (facts or {}).get("files") or {}
    for path, wanted in sorted((expected.get("files") or {}).items()):
        reasons += _file_drift(path, files.get(path), wanted)
    unit_name = expected.get("unit")
    if unit_name:
        unit = ((facts or {}).get("units") or {}).get(unit_name)
        if not unit:
            reasons.append(f"{unit_name} was not read")
        else:
            if unit.get("active_state") != "active":
                reasons.append(f"{unit_name} is {unit.get('active_state') or 'unknown'}")
            if unit.get("unit_file_state") != "enabled":
                reasons.append(f"{unit_name} is {unit.get('unit_file_state') or 'unknown'} at boot, not enabled")
            if unit.get("restart_pending"):
                changed = unit.get("newer_packages", []) + unit.get("switched_links", []) + unit.get("newer_files", [])
                reasons.append(f"{unit_name} awaits a restart ({', '.join(changed)} changed since it started)")
    return reasons
