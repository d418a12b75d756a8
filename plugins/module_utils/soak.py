# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What bots did during a window (a canary's soak, its baseline): read from systemd's journal.

One ``journalctl`` call reads every unit of a host since the window's start. systemd's own
structured messages about a unit give its starts, scheduled restarts (and whether they were the
planned ones of ``RuntimeMaxSec``) and its main process's exits with their status; the bot's own
lines are counted by pattern kind: websocket connects (a connect after the first one of a
process is a reconnect), connection errors, emergency reconnections, errors, warnings and
tracebacks. Patterns are per framework; the defaults are webex_bot's. The module only reads:
the verdict is the controller's (plugin_utils/soak.py).
"""

from __future__ import annotations

import re
import time

from ansible_collections.botfleet.deploy.plugins.module_utils.health import message_text, parse_journal
from ansible_collections.botfleet.deploy.plugins.module_utils.release import ReleaseStore
from ansible_collections.botfleet.deploy.plugins.module_utils.scrub import Scrubber
from ansible_collections.botfleet.deploy.plugins.module_utils.validate import unit_name_problem
from ansible_collections.botfleet.deploy.plugins.module_utils.venv import format_timestamp, parse_timestamp

# systemd's catalog ids (systemd/sd-messages.h): stable across versions.
UNIT_STARTED = "39f53479d3a045ac8e11786248231fbf"
PROCESS_EXITED = "98e322203f7a4ed290d09fe03c09fe15"
RESTART_SCHEDULED = "5eb03494b6584870a536b337290809b3"
UNIT_RESULT = "d9b373ed55a64feb8242e02dbe79a49c"
# Logged by systemd (without a catalog id) when RuntimeMaxSec stops a service: a planned restart.
RUNTIME_LIMIT = "runtime time limit"

PATTERN_KINDS = ("connect", "connection_error", "emergency", "error", "warning", "traceback")
# webex_bot's own wording (webex_bot/websockets/webex_websocket_client.py, 1.0.x to 1.3.x).
WEBEX_BOT_PATTERNS = {
    "connect": [r"WebSocket Opened"],
    "connection_error": [r"runException:", r"WebSocket handshake to \S+ failed"],
    "emergency": [r"Waiting 5 seconds before attempting to reconnect", r"Refreshing WDM device info"],
    "error": [r"\bERROR\b", r"\bCRITICAL\b"],
    "warning": [r"\bWARNING\b"],
    "traceback": [r"^Traceback \(most recent call last\)"],
}
# Signals a stop sends; a main process killed by one of them did not crash.
STOP_SIGNALS = ("TERM", "INT", "HUP", "KILL")
OUTPUT_FIELDS = "MESSAGE,MESSAGE_ID,UNIT,_SYSTEMD_UNIT,EXIT_CODE,EXIT_STATUS,N_RESTARTS,UNIT_RESULT"
SAMPLES = 5
JOURNAL_TIMEOUT = 60


class SoakError(Exception):
    """The journal or the bots' state cannot be read; the message says what to do."""


def compile_soak_patterns(patterns):
    """{kind: [compiled]} from the defaults overlaid with ``patterns`` ({kind: [regex]})."""
    merged = dict(WEBEX_BOT_PATTERNS)
    for kind, regexes in (patterns or {}).items():
        if kind not in PATTERN_KINDS:
            raise SoakError(f"patterns: {kind!r} is not a pattern kind ({', '.join(PATTERN_KINDS)})")
        if isinstance(regexes, str) or not isinstance(regexes, list):
            raise SoakError(f"patterns: {kind} must be a list of regular expressions")
        merged[kind] = regexes
    compiled = {}
    for kind, regexes in merged.items():
        compiled[kind] = []
        for regex in regexes:
            try:
                compiled[kind].append(re.compile(str(regex)))
            except re.error as exc:
                raise SoakError(f"patterns: {kind}: {regex!r} is not a valid regular expression: {exc}") from exc
    return compiled


def _timestamp(usec):
    return None if usec is None else format_timestamp(usec / 1e6)


class UnitTally:
    """Counts for one unit over the window, fed journal entries in order."""

    def __init__(self, unit):
        self.unit = unit
        self.counts = dict.fromkeys(PATTERN_KINDS, 0)
        self.starts = 0
        self.restarts = 0
        self.planned_restarts = 0
        self.reconnects = 0
        self.failed_exits = 0
        self.last_exit = None
        self.samples = []
        # The process running when the window opened has connected already (the gate waited for it).
        self._fresh = False
        self._cause = None

    def _sample(self, kind, at, line):
        self.samples = [*self.samples, {"kind": kind, "at": at, "line": line[:300]}][-SAMPLES:]

    def systemd(self, entry, at):
        message_id = entry.get("MESSAGE_ID")
        text = message_text(entry)
        if message_id == UNIT_STARTED:
            self.starts += 1
            self._fresh, self._cause = True, None
        elif message_id == PROCESS_EXITED and "Main process" in text:
            code, status = entry.get("EXIT_CODE") or "", str(entry.get("EXIT_STATUS") or "")
            if (code == "exited" and status not in ("0", "")) or (code != "exited" and status not in STOP_SIGNALS):
                self.failed_exits += 1
                self.last_exit = {"at": at, "code": code, "status": status}
                self._cause = self._cause or "exit"
        elif message_id == RESTART_SCHEDULED:
            if self._cause == "runtime":
                self.planned_restarts += 1
            else:
                self.restarts += 1
            self._cause = None
        elif message_id == UNIT_RESULT:
            self._cause = self._cause or entry.get("UNIT_RESULT") or "failed"
        elif RUNTIME_LIMIT in text:
            self._cause = "runtime"

    def line(self, text, at, patterns):
        for kind, regexes in patterns.items():
            if not any(regex.search(text) for regex in regexes):
                continue
            self.counts[kind] += 1
            if kind == "connect":
                if self._fresh:
                    self._fresh = False
                else:
                    self.reconnects += 1
                    self._sample("reconnect", at, text)
            elif kind != "warning":
                self._sample(kind, at, text)

    def report(self, scrubber):
        return {
            "unit": self.unit,
            "starts": self.starts,
            "restarts": self.restarts,
            "planned_restarts": self.planned_restarts,
            "failed_exits": self.failed_exits,
            "last_exit": self.last_exit,
            "connects": self.counts["connect"],
            "reconnects": self.reconnects,
            "connection_errors": self.counts["connection_error"],
            "emergency_reconnects": self.counts["emergency"],
            "errors": self.counts["error"],
            "warnings": self.counts["warning"],
            "tracebacks": self.counts["traceback"],
            "samples": [dict(sample, line=scrubber.text(sample["line"])) for sample in self.samples],
        }


def entry_unit(entry, units):
    """The unit of ``units`` a journal entry is about: its own output, or systemd's message about it."""
    for key in ("_SYSTEMD_UNIT", "UNIT"):
        if entry.get(key) in units:
            return entry[key], key == "UNIT"
    return None, False


class JournalReader:
    """Reads the journal entries of some units, from a start time, then onwards from a cursor."""

    def __init__(self, run_command, units, since_epoch):
        for unit in units:
            problem = unit_name_problem(unit, "unit")
            if problem:
                raise SoakError(problem)
        self.run_command = run_command
        self.units = list(units)
        self.since = since_epoch
        self.cursor = None

    def entries(self):
        argv = ["journalctl", "--no-pager", "--output=json", "--output-fields=" + OUTPUT_FIELDS]
        argv += ["--after-cursor=" + self.cursor] if self.cursor else [f"--since=@{int(self.since)}"]
        for unit in self.units:
            argv += ["--unit", unit]
        rc, out, err = self.run_command(argv)
        if rc != 0:
            raise SoakError(f"journalctl failed (rc={rc}): {err.strip()}")
        entries, self.cursor = parse_journal(out, self.cursor)
        return entries


class SoakWatch:
    """Tallies of several units, fed from a JournalReader; optionally waits and stops at a crash."""

    def __init__(self, reader, patterns, secrets=()):
        self.reader = reader
        self.patterns = patterns
        self.scrubber = Scrubber(secrets or ())
        self.tallies = {unit: UnitTally(unit) for unit in reader.units}

    def read(self):
        for entry in self.reader.entries():
            unit, about = entry_unit(entry, self.tallies)
            if unit is None:
                continue
            try:
                usec = int(entry["__REALTIME_TIMESTAMP"])
            except (KeyError, TypeError, ValueError):
                usec = None
            if usec is not None and usec < self.reader.since * 1e6:
                continue
            at = _timestamp(usec)
            if about:
                self.tallies[unit].systemd(entry, at)
            else:
                self.tallies[unit].line(message_text(entry), at, self.patterns)

    def crashed(self):
        return sorted(unit for unit, tally in self.tallies.items() if tally.restarts or tally.failed_exits)

    def watch(self, seconds, stop_on_crash=True, poll=2.0, clock=time.time, sleep=time.sleep):
        """Read for ``seconds`` from now (the window may have started earlier); stop at a crash."""
        deadline = clock() + seconds
        while True:
            self.read()
            if stop_on_crash and self.crashed():
                return "crashed"
            remaining = deadline - clock()
            if remaining <= 0:
                return "watched"
            sleep(min(poll, remaining))

    def reports(self):
        return {unit: tally.report(self.scrubber) for unit, tally in self.tallies.items()}


def probe_history(state, since_epoch, keep=5):
    """What state.json says about the messages botfleet sent the bot: the last one, and recent latencies."""
    since = _timestamp(since_epoch * 1e6)
    verdicts = [entry for entry in state.get("verdicts") or [] if isinstance(entry, dict)]
    with_latency = [entry for entry in verdicts if isinstance(entry.get("latency"), (int, float))]
    return {
        "last_probe": state.get("last_probe"),
        "probes_in_window": sum(1 for entry in with_latency if str(entry.get("at") or "") >= since),
        "latencies": [entry["latency"] for entry in with_latency[-keep:]],
    }


def parse_since(value):
    """Seconds since the epoch from a number or a UTC timestamp YYYY-MM-DDTHH:MM:SSZ."""
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return float(parse_timestamp(text))
    except ValueError as exc:
        raise SoakError(f"since: {text!r} is neither seconds since the epoch nor YYYY-MM-DDTHH:MM:SSZ") from exc


def soak_report(run_command, params, clock=time.time, sleep=time.sleep):
    """The module's result: every bot's tally over the window, with its probe history."""
    since = parse_since(params["since"])
    if params["watch"] < 0:
        raise SoakError("watch must be >= 0 seconds")
    units = {bot: f"botfleet-{bot}.service" for bot in params["bots"]}
    stores = {bot: ReleaseStore(params["root"], params["state_dir"], bot) for bot in params["bots"]}
    watch = SoakWatch(
        JournalReader(run_command, list(units.values()), since),
        compile_soak_patterns(params["patterns"]),
        params["redact"],
    )
    if params["watch"]:
        outcome = watch.watch(params["watch"], clock=clock, sleep=sleep)
    else:
        watch.read()
        outcome = "watched"
    until = clock()
    reports = watch.reports()
    bots = {bot: dict(reports[unit], **probe_history(stores[bot].read_state(), since)) for bot, unit in units.items()}
    window = {"since": _timestamp(since * 1e6), "until": _timestamp(until * 1e6), "seconds": round(until - since)}
    return {"bots": bots, "window": window, "outcome": outcome}
