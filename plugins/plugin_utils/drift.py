# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bot's drift: what keeps it from being exactly as a deployment would leave it."""

from __future__ import annotations


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
    owner, group}}}. ``facts`` is the bot_facts result of the bot's ``current``
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
