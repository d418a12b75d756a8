# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet status matrix: rows from what status.yml reads on each bot, as text, Markdown and JSON."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ansible_collections.botfleet.deploy.plugins.plugin_utils.times import TIMESTAMP, human_duration, parse_timestamp

COLUMNS = (
    ("bot", "bot"),
    ("vm", "VM"),
    ("release", "release"),
    ("commit", "commit"),
    ("packages", None),  # one column per key package, named after it
    ("target", "target"),
    ("unit", "unit"),
    ("uptime", "uptime"),
    ("restarts", "restarts"),
    ("restart_pending", "restart pending"),
    ("canary", "canary mark"),
    ("last_probe", "last probe"),
    ("soak", "last soak verdict"),
    ("lease", "lease"),
    ("watchdog", "last watchdog probe"),
    ("watchdog_restarts", "watchdog restarts"),
)


def _age(at, now):
    try:
        then = parse_timestamp(at)
    except (TypeError, ValueError):
        return "?"
    return human_duration(max(0.0, (now - then).total_seconds())) + " ago"


def _lease(lease):
    """Who holds the bot's run lease, and until when; "-" when nobody does."""
    if not isinstance(lease, dict) or not isinstance(lease.get("holder"), dict):
        return "-"
    holder = lease["holder"]
    who = f"{holder.get('user') or '?'}@{holder.get('controller') or '?'}"
    return f"{holder.get('playbook') or 'a run'} by {who} until {str(lease.get('expires') or '?')[11:16]}"


def _soak(soak, now):
    """The last soak verdict of a canary, the rule that refused it when it failed."""
    if not isinstance(soak, dict) or not soak.get("verdict"):
        return "-"
    word = "passed" if soak["verdict"] == "passed" else "FAILED"
    reason = str(soak.get("reason") or "")
    detail = f": {reason.partition(': ')[2][:60]}" if word == "FAILED" and reason else ""
    return f"{word} {_age(soak.get('at'), now)}{detail}"


def _watchdog_probe(watch, now):
    """The watchdog's last look at the bot (its watchdog.json): the probe, or why it left the bot alone."""
    if not isinstance(watch, dict):
        return "-"
    run = watch.get("last_run") or {}
    probe = watch.get("last_probe") or {}
    if run.get("left_alone") and run.get("at", "") >= probe.get("at", ""):
        return f"left alone {_age(run.get('at'), now)}: {str(run['left_alone']).split(':', maxsplit=1)[0]}"
    if not probe:
        return "-"
    if probe.get("ok"):
        latency = probe.get("latency")
        return (f"{latency:.2f}s" if isinstance(latency, (int, float)) else "ok") + f" {_age(probe.get('at'), now)}"
    return f"FAILED {_age(probe.get('at'), now)} ({watch.get('failures', '?')} in a row)"


def _watchdog_restarts(watch, now):
    """Restarts by the watchdog within the last hour, and in all."""
    if not isinstance(watch, dict):
        return "-"
    recent = [t for t in watch.get("restarts") or [] if isinstance(t, (int, float)) and now.timestamp() - t < 3600]
    return f"{len(recent)} last hour, {watch.get('restarts_total') or 0} in all"


def _target(current, target, switch, now):
    """Whether the bot runs the target release; a bot rolled back by hand (botfleetctl) says by whom."""
    if current and current == target:
        return "yes"
    if not target:
        return "?"
    moved = ""
    if isinstance(switch, dict) and switch.get("event") == "rolled_back" and switch.get("by"):
        if switch.get("release") == current:
            via = f" with {switch['via']}" if switch.get("via") else ""
            moved = f"; rolled back by {switch['by']}{via} {_age(switch.get('at'), now)}"
    return f"NO (wants {target}{moved})"


def _commit(source):
    """The code of the bot's release: short sha and subject (a directory's tree digest), "-" without code."""
    if not isinstance(source, dict) or not source.get("short"):
        return "-"
    subject = str(source.get("subject") or "")
    subject = subject if len(subject) <= 40 else subject[:39] + "~"
    prefix = "" if source.get("kind", "git") == "git" else "tree "
    return f"{prefix}{source['short'][:7]} {subject}".rstrip()


def status_row(bot, now, packages):
    """One row of display strings (and the raw values under ``data``) for one bot."""
    if bot.get("unreachable"):
        row = {key: "-" for key, _title in COLUMNS if key != "packages"}
        row.update(bot="" + bot["bot"], vm=bot.get("vm") or "-", unit="UNREACHABLE")
        row.update({name: "-" for name in packages})
        return row
    unit = bot.get("unit") or {}
    current, target = bot.get("current"), bot.get("target")
    canary = bot.get("canary") or {}
    probe = bot.get("last_probe") or {}
    row = {
        "bot": bot["bot"],
        "vm": bot.get("vm") or "-",
        "release": current or "none",
        "commit": _commit(bot.get("commit")),
        "target": _target(current, target, bot.get("last_switch"), now),
        "unit": f"{unit.get('active_state', '?')}/{unit.get('sub_state', '?')}" if unit else "?",
        "uptime": human_duration(unit["uptime"]) if unit.get("uptime") is not None else "-",
        "restarts": str(unit.get("restarts")) if unit.get("restarts") is not None else "-",
        "restart_pending": ("YES: " + ", ".join(unit.get("newer_packages") or ["current switched"]))
        if unit.get("restart_pending")
        else "no",
        "canary": f"{canary['verdict']} {canary.get('release', '?')} {_age(canary.get('at'), now)}" if canary else "-",
        "last_probe": (
            (f"{probe['latency']:.2f}s" if probe.get("latency") is not None else probe.get("verdict", "?"))
            + f" {_age(probe.get('at'), now)}"
        )
        if probe
        else "-",
        "soak": _soak(bot.get("soak"), now),
        "lease": _lease(bot.get("lease")),
        "watchdog": _watchdog_probe(bot.get("watchdog"), now),
        "watchdog_restarts": _watchdog_restarts(bot.get("watchdog"), now),
    }
    versions = bot.get("packages") or {}
    row.update({name: versions.get(name) or "-" for name in packages})
    return row


def _headers(packages):
    headers = []
    for key, title in COLUMNS:
        if key == "packages":
            headers += [(name, name) for name in packages]
        else:
            headers.append((key, title))
    return headers


def text_table(rows, packages):
    headers = _headers(packages)
    widths = {key: max([len(title)] + [len(row[key]) for row in rows]) for key, title in headers}
    line = "  ".join(title.ljust(widths[key]) for key, title in headers).rstrip()
    lines = [line, "  ".join("-" * widths[key] for key, _title in headers)]
    lines += ["  ".join(row[key].ljust(widths[key]) for key, _title in headers).rstrip() for row in rows]
    return lines


def markdown_table(rows, packages):
    headers = _headers(packages)
    lines = ["| " + " | ".join(title for _key, title in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row[key].replace("|", "\\|") for key, _title in headers) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def adoption_notes(bots, now):
    """Where each adopted bot logged while it ran by hand (its old log file stays there)."""
    notes = []
    for bot in bots:
        adopted = bot.get("adopted_from") or {}
        if adopted.get("log"):
            notes.append(
                f"{bot['bot']} logged to {adopted['log']} before its adoption "
                f"(release {adopted.get('release', '?')}, {_age(adopted.get('at'), now)})"
            )
    return notes


def status_report(bots, packages=("webex-bot", "websockets"), hosts=None, now=None):
    """The matrix for ``bots`` (dicts read by status.yml) as {rows, text, markdown, json, summary}.

    Bots named in ``hosts`` that have no entry in ``bots`` could not be read: they show as unreachable.
    """
    now = now or datetime.now(UTC)
    packages = [re.sub(r"[-_.]+", "-", str(name)).lower() for name in packages]
    seen = {bot["bot"] for bot in bots}
    bots = list(bots) + [{"bot": name, "unreachable": True} for name in hosts or [] if name not in seen]
    ordered = sorted(bots, key=lambda bot: (bot.get("vm") or "", bot["bot"]))
    rows = [status_row(bot, now, packages) for bot in ordered]
    on_target = sum(1 for bot in ordered if bot.get("current") and bot.get("current") == bot.get("target"))
    pending = sum(1 for bot in ordered if (bot.get("unit") or {}).get("restart_pending"))
    down = sum(
        1 for bot in ordered if bot.get("unreachable") or (bot.get("unit") or {}).get("active_state") != "active"
    )
    summary = f"{len(ordered)} bots: {on_target} on target, {down} not active, {pending} with a restart pending"
    markdown = f"# botfleet status, {now.strftime(TIMESTAMP)}\n\n{summary}\n\n" + markdown_table(rows, packages)
    adopted = adoption_notes(ordered, now)
    if adopted:
        markdown += "\n" + "".join(f"- {line}\n" for line in adopted)
    return {
        "rows": rows,
        "text": [*text_table(rows, packages), "", summary, *adopted],
        "markdown": markdown,
        "json": {"generated": now.strftime(TIMESTAMP), "summary": summary, "bots": ordered},
        "summary": summary,
    }
