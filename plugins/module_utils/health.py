# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide whether a systemd unit is healthy, from repeated observations.

The decision logic (HealthWatch) is pure and fed with observations, so it is
tested without systemd; observe_unit() reads a real unit with systemctl and
journalctl.
"""

from __future__ import annotations

import json
import re
import time

from ansible_collections.botfleet.deploy.plugins.module_utils.scrub import Scrubber
from ansible_collections.botfleet.deploy.plugins.module_utils.validate import unit_name_problem

SHOW_PROPERTIES = (
    "Id",
    "LoadState",
    "ActiveState",
    "SubState",
    "Result",
    "MainPID",
    "NRestarts",
    "InvocationID",
    "ExecMainStartTimestampMonotonic",
    "ActiveEnterTimestamp",
)
MAX_LINES = 20


class HealthError(Exception):
    """The unit cannot be observed at all (it does not exist, systemctl fails)."""


def compile_patterns(patterns, option):
    compiled = []
    for pattern in patterns or []:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise HealthError(f"{option}: {pattern!r} is not a valid regular expression: {exc}") from exc
    return compiled


def redact(line, secrets):
    """``line`` without the secrets and their prefixes of 8 characters or more (module_utils/scrub.py)."""
    return Scrubber(secrets or ()).text(line)


class HealthWatch:
    """Accumulates observations of one unit and says healthy, failed or wait.

    A unit is healthy once it is active/running, its main process has been up
    for ``stable_for`` seconds without a restart since the watch began, no
    journal line of its current invocation matches a fail pattern, and the ready
    pattern (when given) has been seen.
    """

    def __init__(self, stable_for, fail_patterns=(), ready_pattern=None, secrets=()):
        self.stable_for = stable_for
        self.fail_patterns = list(fail_patterns)
        self.ready_pattern = ready_pattern
        self.secrets = list(secrets)
        self.baseline = None
        self.matched = []
        self.ready_line = None
        self.last = {}

    def observe(self, props, lines, now):
        """Feed one observation; return ('wait' | 'healthy' | 'failed', reason)."""
        self.last = props
        identity = (props.get("InvocationID"), props.get("MainPID"))
        restarts = int(props.get("NRestarts") or 0)
        running = props.get("ActiveState") == "active" and props.get("SubState") == "running"

        if props.get("ActiveState") == "failed":
            return "failed", f"the unit failed (Result={props.get('Result') or 'unknown'})"
        if self.baseline is None:
            self.baseline = {"restarts": restarts, "identity": identity if running else None}
        elif restarts > self.baseline["restarts"]:
            return "failed", (
                f"the unit restarted during the health window (NRestarts {self.baseline['restarts']} -> {restarts})"
            )
        elif running and self.baseline["identity"] not in (None, identity):
            return "failed", "the unit's main process changed during the health window"
        if running and self.baseline["identity"] is None:
            self.baseline["identity"] = identity

        for line in lines:
            if any(p.search(line) for p in self.fail_patterns):
                self.matched.append(redact(line, self.secrets))
            if self.ready_line is None and self.ready_pattern is not None and self.ready_pattern.search(line):
                self.ready_line = redact(line, self.secrets)
        if self.matched:
            return "failed", f"journal lines match fail_patterns: {self.matched[0]}"

        missing = self.missing(props, now)
        return ("healthy", "") if not missing else ("wait", "; ".join(missing))

    def uptime(self, props, now):
        started = int(props.get("ExecMainStartTimestampMonotonic") or 0) / 1e6
        return round(now - started, 1) if started and props.get("ActiveState") == "active" else 0.0

    def missing(self, props, now):
        missing = []
        if props.get("ActiveState") != "active" or props.get("SubState") != "running":
            missing.append(f"the unit is {props.get('ActiveState')}/{props.get('SubState')}, not active/running")
        elif self.uptime(props, now) < self.stable_for:
            missing.append(f"up {self.uptime(props, now):.0f}s of the {self.stable_for}s it must stay up")
        if self.ready_pattern is not None and self.ready_line is None:
            missing.append(f"no journal line matched ready_pattern {self.ready_pattern.pattern!r}")
        return missing

    def report(self, now):
        props = self.last
        return {
            "unit": props.get("Id"),
            "active_state": props.get("ActiveState"),
            "sub_state": props.get("SubState"),
            "main_pid": int(props.get("MainPID") or 0) or None,
            "restarts": int(props.get("NRestarts") or 0),
            "active_since": props.get("ActiveEnterTimestamp") or None,
            "uptime": self.uptime(props, now),
            "invocation_id": props.get("InvocationID") or None,
            "matched_lines": self.matched[:MAX_LINES],
            "ready_line": self.ready_line,
        }


def parse_show(text):
    props = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            props[key] = value
    return props


def message_text(entry):
    message = entry.get("MESSAGE")
    if isinstance(message, list):  # journald gives non-UTF-8 messages as byte arrays
        message = bytes(message).decode("utf-8", "replace")
    return message or ""


def parse_journal(out, cursor=None):
    """The entries of ``journalctl --output=json`` text, and the cursor of the last one (or ``cursor``)."""
    entries = []
    for raw in out.splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        cursor = entry.get("__CURSOR", cursor)
        entries.append(entry)
    return entries, cursor


class UnitObserver:
    """Reads a unit's state and the journal lines of its current invocation."""

    def __init__(self, run_command, unit):
        problem = unit_name_problem(unit, "unit")
        if problem:
            raise HealthError(problem)
        self.run_command = run_command
        self.unit = unit
        self.cursor = None
        self.invocation = None

    def properties(self):
        # '--': a unit name may start with '-' (-.mount) and must never be read as an option.
        argv = ["systemctl", "show", "--property=" + ",".join(SHOW_PROPERTIES), "--", self.unit]
        rc, out, err = self.run_command(argv)
        if rc != 0:
            raise HealthError(f"systemctl show {self.unit} failed (rc={rc}): {err.strip()}")
        props = parse_show(out)
        if props.get("LoadState") == "not-found":
            raise HealthError(f"unit {self.unit} does not exist on this host")
        return props

    def new_lines(self, invocation):
        """Journal lines of ``invocation`` not returned before."""
        if not invocation:
            return []
        if invocation != self.invocation:
            self.invocation, self.cursor = invocation, None
        argv = ["journalctl", "--no-pager", "--output=json", "_SYSTEMD_INVOCATION_ID=" + invocation]
        if self.cursor:
            argv.append("--after-cursor=" + self.cursor)
        rc, out, err = self.run_command(argv)
        if rc != 0:
            raise HealthError(f"journalctl failed (rc={rc}): {err.strip()}")
        entries, self.cursor = parse_journal(out, self.cursor)
        return [message_text(entry) for entry in entries]


def restart_unit(run_command, unit):
    """Restart ``unit``; None, or systemctl's complaint.

    A release that crash-looped may have used up the unit's start limit: it is cleared, and the
    restart tried once more (what the bot role's restart does), for every restart made on the VM.
    """
    rc, out, err = run_command(["systemctl", "restart", "--", unit])
    if rc != 0:
        run_command(["systemctl", "reset-failed", "--", unit])
        rc, out, err = run_command(["systemctl", "restart", "--", unit])
    return None if rc == 0 else ((err or out or "").strip() or f"exit code {rc}")


def build_watch(params):
    """A HealthWatch from the module's parameters (patterns compiled, errors named by option)."""
    ready = params.get("ready_pattern")
    return HealthWatch(
        params["stable_for"],
        compile_patterns(params.get("fail_patterns"), "fail_patterns"),
        compile_patterns([ready], "ready_pattern")[0] if ready else None,
        params.get("redact"),
    )


def watch_unit(run_command, params, clock=None, sleep=None):
    """Observe the unit until it is healthy, fails, or the timeout passes.

    Returns (verdict, reason, report); verdict is 'healthy', 'failed' or 'timeout'.
    """
    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    if params["timeout"] < 0 or params["stable_for"] < 0 or params["poll_interval"] <= 0:
        raise HealthError("timeout and stable_for must be >= 0 and poll_interval > 0")
    observer = UnitObserver(run_command, params["unit"])
    watch = build_watch(params)
    started = clock()
    while True:
        props = observer.properties()
        now = clock()
        verdict, reason = watch.observe(props, observer.new_lines(props.get("InvocationID")), now)
        report = dict(watch.report(now), waited=round(now - started, 1))
        if verdict != "wait":
            return verdict, reason, report
        if now - started >= params["timeout"]:
            return "timeout", f"still not healthy after {params['timeout']}s: {reason}", report
        sleep(params["poll_interval"])
