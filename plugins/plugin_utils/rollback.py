# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a rollback did to a bot, in one sentence, for the summary, the record and the team's room."""

from __future__ import annotations


def rollback_outcome(switch, gate=None, check_mode=False, bot=None):
    """Sum up one bot's rollback as {ok, outcome}; ``ok`` means the bot serves a whole, known release.

    ``switch`` is the registered result of release state=rolled_back (or, when that task
    failed, {failed, no_previous, msg, task}); ``gate`` the botfleet_gate fact of the
    restored release, or None when no gate ran.
    """
    switch = switch or {}
    if switch.get("failed"):
        if switch.get("no_previous"):
            return {"ok": False, "outcome": "it had no previous release, so it was stopped"}
        return {
            "ok": False,
            "outcome": (
                f"and the rollback failed too ({switch.get('task') or 'rollback'}: {switch.get('msg') or 'failed'}); "
                f"look at the bot now, then run rollback.yml -l {bot} -e botfleet_rollback_to=<release id>"
            ),
        }
    if switch.get("already_rolled_back"):
        return {"ok": True, "outcome": switch.get("msg") or "it was already rolled back"}
    target, previous = switch.get("current_id"), switch.get("previous_id")
    if not switch.get("changed"):
        return {"ok": True, "outcome": f"nothing to roll back: it is on release {target}"}
    pins = (switch.get("release") or {}).get("pins") or {}
    versions = f" ({', '.join(f'{name}{spec}' for name, spec in sorted(pins.items()))})" if pins else ""
    source = (switch.get("release") or {}).get("source")
    if isinstance(source, dict) and source.get("short"):
        # The code comes back with the venv: say which.
        versions += f" at {'commit' if source.get('kind') == 'git' else 'tree'} {source['short']}"
    moved = f"from release {previous or 'none'} to {target}{versions}"
    if check_mode:
        return {"ok": True, "outcome": f"would roll back {moved}"}
    if not gate:
        return {"ok": True, "outcome": f"rolled back {moved}"}
    if gate.get("passed"):
        return {"ok": True, "outcome": f"rolled back {moved}, which serves again ({gate.get('summary')})"}
    return {
        "ok": False,
        "outcome": f"rolled back {moved}, which FAILS its gate too: {'; '.join(gate.get('reasons') or [])}",
    }


def failure_reason(failed_result, failed_task, gate=None):
    """What made a deployment fail, in one line: the gate's reasons, or the failed task and its message."""
    if gate and not gate.get("passed", True):
        return "gate: " + "; ".join(gate.get("reasons") or ["failed"])
    name = (failed_task or {}).get("name") if isinstance(failed_task, dict) else failed_task
    return f"{name or 'a task'}: {(failed_result or {}).get('msg') or 'failed'}"


def rollback_line(rollback, bot, check_mode=False):
    """What rollback.yml prints of one bot: its rollback's outcome (botfleet_rollback), and how long a
    real switch took."""
    line = f"{bot}: {rollback.get('outcome')}"
    if rollback.get("switched") and not check_mode:
        line += f" in {float(rollback.get('seconds') or 0):.1f}s"
    return line
