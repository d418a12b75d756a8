# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gate's verdict: a bot's unit, venv and probe checks, from registered task results."""

from __future__ import annotations


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
