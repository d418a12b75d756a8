"""soak_report's reading of the journal, fed with real journalctl --output=json lines.

The fixture was recorded on the lab image (Debian 12, systemd 252): crashy.service printed a
connect line and an ERROR line, then exited 1 after 2 s (Restart=always); runtimey.service was
stopped by RuntimeMaxSec=3 every 3 s and restarted (the planned restart of the proactive reconnection).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.botfleet.deploy.plugins.module_utils.soak import (
    JournalReader,
    SoakError,
    SoakWatch,
    compile_soak_patterns,
    parse_since,
    probe_history,
    soak_report,
)

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "journal-crash-and-runtime-limit.jsonl"
ENTRIES = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
UNITS = ("crashy.service", "runtimey.service")


class FakeJournal:
    """journalctl stand-in serving recorded entries: all since a time, then those after a cursor."""

    def __init__(self, entries, rc=0, err=""):
        self.entries = entries
        self.rc, self.err = rc, err
        self.calls = []

    def __call__(self, argv):
        self.calls.append(argv)
        after = next((arg.split("=", 1)[1] for arg in argv if arg.startswith("--after-cursor=")), None)
        served = self.entries
        if after:
            index = next(i for i, entry in enumerate(served) if entry["__CURSOR"] == after)
            served = served[index + 1 :]
        return self.rc, "".join(json.dumps(entry) + "\n" for entry in served), self.err


def watch_of(entries, units=UNITS, since=0, patterns=None, secrets=()):
    return SoakWatch(JournalReader(FakeJournal(entries), units, since), compile_soak_patterns(patterns), secrets)


def test_crashes_count_as_restarts_and_failed_exits_with_the_last_status():
    watch = watch_of(ENTRIES)
    watch.read()
    crashy = watch.reports()["crashy.service"]
    assert crashy["starts"] == 3
    assert crashy["restarts"] == 2
    assert crashy["planned_restarts"] == 0
    assert crashy["failed_exits"] == 3
    assert crashy["last_exit"]["status"] == "1"
    assert crashy["last_exit"]["code"] == "exited"
    # Each process connected once after its start: connects, not reconnects.
    assert (crashy["connects"], crashy["reconnects"]) == (3, 0)
    assert crashy["errors"] == 3
    assert watch.crashed() == ["crashy.service"]


def test_runtime_limit_restarts_are_planned():
    watch = watch_of(ENTRIES)
    watch.read()
    runtimey = watch.reports()["runtimey.service"]
    assert (runtimey["restarts"], runtimey["planned_restarts"], runtimey["failed_exits"]) == (0, 2, 0)


def test_one_journalctl_call_reads_every_unit_then_follows_the_cursor():
    journal = FakeJournal(ENTRIES)
    reader = JournalReader(journal, UNITS, 1_700_000_000)
    reader.entries()
    reader.entries()
    first, second = journal.calls
    assert "--since=@1700000000" in first
    assert [first[i + 1] for i, arg in enumerate(first) if arg == "--unit"] == list(UNITS)
    assert f"--after-cursor={ENTRIES[-1]['__CURSOR']}" in second


def test_a_connect_without_a_start_is_a_reconnect():
    lines = [
        {
            "__CURSOR": str(i),
            "__REALTIME_TIMESTAMP": str(1_800_000_000_000_000 + i),
            "_SYSTEMD_UNIT": "a.service",
            "MESSAGE": text,
        }
        for i, text in enumerate(["WebSocket Opened.", "x", "WebSocket Opened.", "WebSocket Opened."])
    ]
    watch = watch_of(lines, ["a.service"])
    watch.read()
    report = watch.reports()["a.service"]
    # The process was connected when the window opened: each connect in it is a reconnect.
    assert (report["connects"], report["reconnects"]) == (3, 3)
    assert [sample["kind"] for sample in report["samples"]] == ["reconnect"] * 3


def test_entries_before_the_window_are_ignored():
    since = int(ENTRIES[-1]["__REALTIME_TIMESTAMP"]) / 1e6
    watch = watch_of(ENTRIES, since=since)
    watch.read()
    assert all(report["starts"] == 0 for report in watch.reports().values())


def test_samples_mask_secrets_and_their_prefixes():
    token = "s3cr3t-token-value-1234567890"
    lines = [
        {
            "__CURSOR": "1",
            "__REALTIME_TIMESTAMP": "1800000000000000",
            "_SYSTEMD_UNIT": "a.service",
            "MESSAGE": f"ERROR runException: 401 for Bearer {token[:12]}",
        },
    ]
    watch = watch_of(lines, ["a.service"], secrets=[token])
    watch.read()
    report = watch.reports()["a.service"]
    assert report["connection_errors"] == 1 and report["errors"] == 1
    assert all(token[:8] not in sample["line"] for sample in report["samples"])


def test_patterns_replace_the_defaults_of_their_kind():
    patterns = compile_soak_patterns({"connect": [r"connected to Webex"]})
    assert [p.pattern for p in patterns["connect"]] == [r"connected to Webex"]
    assert patterns["error"]  # the other kinds keep webex_bot's defaults


@pytest.mark.parametrize(
    ("patterns", "message"),
    [
        ({"bogus": ["x"]}, "'bogus' is not a pattern kind"),
        ({"error": "ERROR"}, "error must be a list"),
        ({"error": ["("]}, "is not a valid regular expression"),
    ],
)
def test_bad_patterns_are_refused_by_name(patterns, message):
    with pytest.raises(SoakError, match=message):
        compile_soak_patterns(patterns)


def test_journalctl_failure_and_bad_unit_names_are_errors():
    with pytest.raises(SoakError, match=r"journalctl failed \(rc=1\): no journal"):
        JournalReader(FakeJournal([], rc=1, err="no journal"), UNITS, 0).entries()
    with pytest.raises(SoakError):
        JournalReader(FakeJournal([]), ["-x.service\n"], 0)


def test_watch_stops_at_the_first_crash_and_waits_out_a_quiet_window():
    clock = {"now": 100.0}
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        clock["now"] += seconds

    crashing = watch_of(ENTRIES, since=0)
    assert crashing.watch(60, clock=lambda: clock["now"], sleep=sleep) == "crashed"
    assert sleeps == []
    # The window began before the watch (canary.yml starts it at the restart): still watched in full.
    quiet = SoakWatch(JournalReader(FakeJournal([]), UNITS, 40.0), compile_soak_patterns(None))
    assert quiet.watch(5, poll=2.0, clock=lambda: clock["now"], sleep=sleep) == "watched"
    assert sum(sleeps) == pytest.approx(5)


def test_probe_history_says_when_botfleet_last_sent_a_message():
    state = {
        "last_probe": {"at": "2026-11-28T06:00:00Z", "latency": 0.3},
        "verdicts": [
            {"event": "gate", "at": "2026-11-27T20:00:00Z", "latency": 0.25},
            {"event": "soak", "at": "2026-11-28T05:00:00Z"},
            {"event": "rollout", "at": "2026-11-28T06:00:00Z", "latency": 0.3},
        ],
    }
    history = probe_history(state, parse_since("2026-11-28T00:00:00Z"))
    assert history == {"last_probe": state["last_probe"], "probes_in_window": 1, "latencies": [0.25, 0.3]}


def test_since_takes_epoch_seconds_or_a_utc_timestamp():
    assert parse_since("2026-11-28T00:00:00Z") == parse_since("1795824000") == 1795824000.0
    with pytest.raises(SoakError, match="neither seconds since the epoch"):
        parse_since("yesterday")


def test_soak_report_reads_the_journal_and_each_bots_state(tmp_path):
    state_dir = tmp_path / "state"
    (state_dir / "crashy").mkdir(parents=True)
    (state_dir / "crashy" / "state.json").write_text(json.dumps({"last_probe": {"at": "2026-11-28T06:00:00Z"}}))
    entries = [dict(entry) for entry in ENTRIES]
    for entry in entries:  # the fixture's units, under botfleet's names
        for key in ("_SYSTEMD_UNIT", "UNIT"):
            if entry.get(key) in UNITS:
                entry[key] = "botfleet-" + entry[key].replace(".service", "") + ".service"
    params = {
        "bots": ["crashy", "runtimey"],
        "since": "0",
        "watch": 0,
        "patterns": {},
        "redact": [],
        "root": str(tmp_path / "opt"),
        "state_dir": str(state_dir),
    }
    result = soak_report(FakeJournal(entries), params, clock=lambda: 3600.0)
    assert result["outcome"] == "watched"
    assert result["window"] == {"since": "1970-01-01T00:00:00Z", "until": "1970-01-01T01:00:00Z", "seconds": 3600}
    assert result["bots"]["crashy"]["restarts"] == 2
    assert result["bots"]["crashy"]["last_probe"] == {"at": "2026-11-28T06:00:00Z"}
    assert result["bots"]["runtimey"]["planned_restarts"] == 2
    assert result["bots"]["runtimey"]["last_probe"] is None
