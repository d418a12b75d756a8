# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The canary's soak judged against its baseline bots: the story's own canary test, as rules.

The story's team asked three things of its canary: the first message after 8+ hours without traffic
is answered; no connection errors and no emergency reconnections in the logs; no more reconnections
than the bots still on the old versions. ``soak_verdict`` turns the soak reports of the canary and of
its baseline (module soak_report) into a verdict that names the rule and the numbers.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

from ansible_collections.botfleet.deploy.plugins.plugin_utils.times import (
    DurationError,
    duration_seconds,
    human_duration,
    parse_timestamp,
)

DEFAULT_RULES = {
    # Absolute: what the canary may show, whatever its baseline did.
    "restarts": 0,
    "failed_exits": 0,
    "connection_errors": 0,
    "emergency_reconnects": 0,
    # Against the baseline: the baseline's maximum plus a tolerance.
    "reconnect_tolerance": 2,
    "error_tolerance": 0,
    # Probe latency: at most this many times the baseline's median, and never refused below the floor.
    "latency_factor": 3.0,
    "latency_floor": 2.0,
}
COLUMNS = (
    ("bot", "bot"),
    ("part", "part"),
    ("restarts", "restarts"),
    ("failed_exits", "failed exits"),
    ("reconnects", "reconnects"),
    ("connection_errors", "conn. errors"),
    ("emergency_reconnects", "emergency"),
    ("errors", "errors"),
    ("latency", "latency"),
)


class SoakRuleError(ValueError):
    pass


def soak_rules(rules=None):
    """DEFAULT_RULES overlaid with ``rules`` (botfleet_soak_rules), each checked to be a number >= 0."""
    merged = dict(DEFAULT_RULES)
    for name, value in (rules or {}).items():
        if name not in DEFAULT_RULES:
            raise SoakRuleError(f"{name!r} is not a soak rule ({', '.join(DEFAULT_RULES)})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise SoakRuleError(f"{name} must be a number >= 0, not {value!r}")
        merged[name] = value
    return merged


def _clock(timestamp):
    return (timestamp or "")[11:16] or "?"


def _errors(report):
    return int(report.get("errors") or 0) + int(report.get("tracebacks") or 0)


def _baseline_max(reports, baseline, key):
    values = {name: int((reports.get(name) or {}).get(key) or 0) for name in baseline}
    return max(values.values(), default=0), values


def _baseline_text(values):
    if not values:
        return "no baseline bot"
    listed = ", ".join(f"{name} {value}" for name, value in sorted(values.items()))
    return f"baseline bots: max {max(values.values())} ({listed})"


def _exit_text(report):
    last = report.get("last_exit") or {}
    if not last:
        return ""
    word = "status" if last.get("code") == "exited" else f"{last.get('code')} by"
    return f" (last exit {word} {last.get('status')} at {_clock(last.get('at'))} UTC)"


def _absolute_rules(name, report, reports, baseline, rules):
    reasons = []
    checks = (
        ("restarts", "restarted {n} times in its soak{exit}", True),
        ("failed_exits", "exited with a failure {n} times in its soak{exit}", True),
        ("connection_errors", "logged {n} connection errors in its soak", False),
        ("emergency_reconnects", "logged {n} emergency reconnections in its soak", False),
    )
    for key, text, with_exit in checks:
        count = int(report.get(key) or 0)
        # The last exit is told once, with the first rule that needs it.
        with_exit = with_exit and not any("(last exit" in reason for reason in reasons)
        if count > rules[key]:
            values = _baseline_max(reports, baseline, key)[1]
            allowed = f"; allowed {rules[key]} (botfleet_soak_rules.{key})" if rules[key] else ""
            said = text.format(n=count, exit=_exit_text(report) if with_exit else "")
            reasons.append(f"{name} {said}; {_baseline_text(values)}{allowed}")
    return reasons


def _relative_rules(name, report, reports, baseline, rules):
    reasons = []
    top, values = _baseline_max(reports, baseline, "reconnects")
    allowed = top + rules["reconnect_tolerance"]
    if int(report.get("reconnects") or 0) > allowed:
        reasons.append(
            f"{name} reconnected {report.get('reconnects')} times in its soak; {_baseline_text(values)}; allowed "
            f"{allowed:g} (baseline max + botfleet_soak_rules.reconnect_tolerance {rules['reconnect_tolerance']:g})"
        )
    errors = {other: _errors(reports.get(other) or {}) for other in baseline}
    allowed = max(errors.values(), default=0) + rules["error_tolerance"]
    if _errors(report) > allowed:
        reasons.append(
            f"{name} logged {_errors(report)} error lines in its soak; {_baseline_text(errors)}; allowed "
            f"{allowed:g} (baseline max + botfleet_soak_rules.error_tolerance {rules['error_tolerance']:g})"
        )
    return reasons


def _latency_rule(name, latency, reports, baseline, rules):
    recent = [value for other in baseline for value in (reports.get(other) or {}).get("latencies") or []]
    if latency is None or not recent:
        return [], None
    median = statistics.median(recent)
    allowed = max(median * rules["latency_factor"], rules["latency_floor"])
    if latency <= allowed:
        return [], median
    return [
        f"{name} answered its probe in {latency:.2f}s; baseline bots' recent probes: median {median:.2f}s; allowed "
        f"{allowed:.2f}s (botfleet_soak_rules.latency_factor {rules['latency_factor']:g} x median, at least "
        f"latency_floor {rules['latency_floor']:g}s)"
    ], median


def _idle(name, report, window, required):
    """(reasons, idle seconds): how long botfleet had sent the canary nothing when the soak was read."""
    until = parse_timestamp(window["until"])
    last = (report.get("last_probe") or {}).get("at")
    idle = (until - parse_timestamp(last)).total_seconds() if last else float(window.get("seconds") or 0)
    if not required or idle >= required:
        return [], idle
    ready = datetime.fromtimestamp(parse_timestamp(last).timestamp() + required, UTC) if last else None
    return [
        f"botfleet sent {name} a message {human_duration(idle)} before this rollout (at {_clock(last)} UTC); "
        f"the first-message-after-idle test needs {human_duration(required)} without traffic from botfleet: "
        f"run rollout.yml again after {ready.strftime('%H:%M') if ready else '?'} UTC or pass -e botfleet_canary_idle=0"
    ], idle


def _row(name, part, report, latency=None):
    row = {key: int(report.get(key) or 0) for key, _title in COLUMNS[2:-1]}
    row["errors"] = _errors(report)
    row["planned_restarts"] = int(report.get("planned_restarts") or 0)
    latencies = report.get("latencies") or []
    shown = latency if latency is not None else (latencies[-1] if latencies else None)
    return dict(row, bot=name, part=part, latency=f"{shown:.2f}s" if shown is not None else "-")


def soak_table(rows):
    """The comparison as a fixed-width text table, one line per bot."""
    widths = {key: max(len(title), *(len(str(row[key])) for row in rows)) for key, title in COLUMNS}
    lines = ["  ".join(title.ljust(widths[key]) for key, title in COLUMNS)]
    lines += ["  ".join(str(row[key]).ljust(widths[key]) for key, _title in COLUMNS) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def soak_verdict(soak, canary, baseline=(), rules=None, idle=0, probe=None):
    """Judge a canary's soak against its baseline bots.

    ``soak`` is {bots: {name: report}, window: {since, until, seconds}} (module soak_report, the
    reports of several hosts merged); ``baseline`` the bots still on the release the canary left;
    ``rules`` botfleet_soak_rules; ``idle`` the idle time the first message must follow (a duration,
    0 turns the rule off); ``probe`` the rollout's gate of the canary (botfleet_gate) once it ran.
    Returns {ok, reasons, rows, table, idle, summary}.
    """
    rules = soak_rules(rules)
    try:
        required = duration_seconds(idle or 0)
    except DurationError as exc:
        raise SoakRuleError(f"botfleet_canary_idle: {exc}") from exc
    reports = (soak or {}).get("bots") or {}
    window = (soak or {}).get("window") or {}
    if canary not in reports:
        raise SoakRuleError(f"the soak report has no entry for the canary {canary}")
    baseline = [name for name in baseline if name in reports and name != canary]
    report = reports[canary]
    reasons = _absolute_rules(canary, report, reports, baseline, rules)
    reasons += _relative_rules(canary, report, reports, baseline, rules)
    idle_reasons, idle_seconds = _idle(canary, report, window, required)
    reasons += idle_reasons
    latency = (probe or {}).get("latency")
    if probe and not probe.get("passed"):
        reasons.append(f"{canary} failed its probe: {'; '.join(probe.get('reasons') or ['failed'])}")
    latency_reasons = _latency_rule(canary, latency, reports, baseline, rules)[0]
    reasons += latency_reasons
    rows = [_row(canary, "canary", report, latency)] + [_row(name, "baseline", reports[name]) for name in baseline]
    span = human_duration(float(window.get("seconds") or 0))
    if reasons:
        judged = "is worse than its baseline" if baseline else "broke the soak rules"
        summary = f"{canary} {judged} over {span}: " + "; ".join(reasons)
    elif latency is not None:
        summary = (
            f"{canary} answered the first message after {human_duration(idle_seconds)} without traffic from botfleet "
            f"({latency:.2f}s); over {span} it did no worse than its {len(baseline)} baseline bots"
        )
    else:
        summary = f"{canary} did no worse than its {len(baseline)} baseline bots over {span}"
        if not baseline:
            summary = f"{canary} kept to the soak rules over {span}"
    return {
        "ok": not reasons,
        "reasons": reasons,
        "rows": rows,
        "table": soak_table(rows),
        "idle": round(idle_seconds),
        "summary": summary,
    }
