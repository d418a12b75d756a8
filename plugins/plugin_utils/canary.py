# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout's canary check: may a rollout start, and whose soak it reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ansible_collections.botfleet.deploy.plugins.plugin_utils.times import (
    duration_seconds,
    human_duration,
    parse_timestamp,
)


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
        soaked = (now - parse_timestamp(mark["at"])).total_seconds()
        if soaked < soak_seconds:
            ready_at = parse_timestamp(mark["at"]) + timedelta(seconds=soak_seconds)
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


def canary_line(info):
    """What canary.yml says of one bot, in one line: its failure, its pass for the team, or its summary.

    ``info``: {bot, kind (failed, passed or summary), release (the bot role's botfleet_release, may be
    empty), pins, gate (botfleet_gate summary), soak (botfleet_soak summary), failure, outcome (the
    rollback's), check_mode}.
    """
    bot, kind = info.get("bot"), info.get("kind")
    release = info.get("release") or {}
    commits = (release.get("commit_range") or {}).get("text")
    if kind == "failed":
        parts = [f"canary {bot} failed: {info.get('failure') or 'unknown failure'}", commits, info.get("outcome")]
        return "; ".join(part for part in parts if part)
    release_id = release.get("release_id") or "?"
    if kind == "passed":
        head = f"canary {bot} passed on release {release_id}" + (f" ({commits})" if commits else "")
        return f"{head}: " + "; ".join(part for part in (info.get("gate"), info.get("soak")) if part)
    if kind == "summary":
        pins = ", ".join(f"{name} {pin}" for name, pin in sorted((info.get("pins") or {}).items()))
        what = "; ".join(part for part in (pins, commits) if part)
        verb = "would move" if info.get("check_mode") else "passed on"
        line = f"canary {bot} {verb} release {release_id}" + (f" ({what})" if what else "")
        gate = None if info.get("check_mode") else info.get("gate")
        return line + (f": {gate}" if gate else "")
    raise ValueError(f"canary_line: kind must be failed, passed or summary, not {kind!r}")
