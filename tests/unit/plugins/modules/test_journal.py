"""journal through Ansible (module + action plugin): verdicts, marks and reads of a bot's state.json."""

from __future__ import annotations

import json
import os
import time

import pytest
from conftest import fake_release

from ansible_collections.botfleet.deploy.plugins.module_utils.release import ReleaseStore

RELEASE = "3f9c2a61b0d4"
OTHER = "c" * 12


@pytest.fixture
def journal(tmp_path, run_module):
    """The journal module of bot barnacles, whose current release is RELEASE."""
    root, state_dir = tmp_path / "opt", tmp_path / "state"
    store = ReleaseStore(str(root), str(state_dir), "barnacles", 300)
    fake_release(store, RELEASE, "2026-11-27T08:00:00Z")
    os.symlink(f"releases/{RELEASE}", store.current_link)
    base = {"bot": "barnacles", "root": str(root), "state_dir": str(state_dir)}

    def call(check=False, module="botfleet.deploy.journal", **args):
        return run_module(module, dict(base, **args), check=check)

    call.state = state_dir / "barnacles" / "state.json"
    return call


def test_record_a_canary_mark_and_verdicts_then_read_them(journal):
    marked = journal(record={"event": "canary", "verdict": "passed", "latency": 0.8431})
    assert marked.get("failed") is not True, marked.get("msg")
    assert marked["changed"] is True
    assert marked["recorded"]["release"] == RELEASE
    journal(record={"event": "gate", "verdict": "failed", "reason": "probe: no reply"})
    state = json.loads(journal.state.read_text())
    assert state["canary"]["verdict"] == "passed"
    assert state["canary"]["latency"] == 0.843
    assert [v["event"] for v in state["verdicts"]] == ["canary", "gate"]
    assert state["last_probe"]["verdict"] == "failed"

    read = journal(history=1)
    assert read["changed"] is False
    assert read["current_id"] == RELEASE
    assert read["canary"]["verdict"] == "passed"
    assert [v["event"] for v in read["verdicts"]] == ["gate"]
    assert journal()["verdicts"] == []
    assert json.loads(journal.state.read_text()) == state


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"record": {"event": "party", "verdict": "passed"}}, "record needs event"),
        ({"record": {"event": "gate", "verdict": "passed", "latency": "fast"}}, "'fast' is not a number of seconds"),
        ({"history": -1}, "history=-1"),
        ({"state_dir": "relative/state"}, "state_dir"),
    ],
)
def test_bad_input_fails_and_writes_nothing(journal, args, fragment):
    result = journal(**args)
    assert result["failed"] is True
    assert fragment in result["msg"]
    assert not journal.state.exists()


def test_check_mode_returns_the_entry_and_writes_nothing(journal):
    result = journal(check=True, record={"event": "canary", "verdict": "passed"})
    assert result["changed"] is True
    assert result["recorded"]["event"] == "canary"
    assert not journal.state.exists()


def test_a_canary_run_again_keeps_its_soak_time(journal):
    first = journal(record={"event": "canary", "verdict": "passed"})["recorded"]
    time.sleep(1.1)
    journal(record={"event": "canary", "verdict": "passed"})
    mark = json.loads(journal.state.read_text())["canary"]
    assert mark["at"] == first["at"]
    assert mark["confirmed_at"] > first["at"]


def test_a_failed_build_keeps_the_passed_mark_of_the_release_still_running(journal):
    passed = journal(record={"event": "canary", "verdict": "passed"})["recorded"]
    # The next canary's build failed: nothing was switched, the bot still runs the passed release.
    journal(record={"event": "canary", "verdict": "failed", "release_id": OTHER, "switched": False, "reason": "build"})
    state = json.loads(journal.state.read_text())
    assert state["canary"] == passed
    assert state["verdicts"][-1]["verdict"] == "failed"
    # A canary that switched, failed and was rolled back disturbed the soak: its failure is the mark.
    journal(record={"event": "canary", "verdict": "failed", "release_id": OTHER, "switched": True})
    assert json.loads(journal.state.read_text())["canary"]["verdict"] == "failed"


def test_a_soak_verdict_keeps_its_table_and_a_gate_without_probe_is_no_message(journal):
    rows = [{"bot": "barnacles", "part": "canary", "restarts": 3}]
    journal(record={"event": "soak", "verdict": "failed", "reason": "restarted 3 times", "rows": rows})
    journal(record={"event": "gate", "verdict": "passed", "probed": False})
    state = json.loads(journal.state.read_text())
    assert state["verdicts"][0]["rows"] == rows
    # Neither sent the bot a message: the idle time of the next first-message test is untouched.
    assert "last_probe" not in state


def test_release_state_recorded_still_records_and_says_it_is_deprecated(journal):
    result = journal(module="botfleet.deploy.release", state="recorded", record={"event": "gate", "verdict": "passed"})
    assert result.get("failed") is not True, result.get("msg")
    assert result["recorded"]["event"] == "gate"
    assert any("botfleet.deploy.journal" in d["msg"] for d in result.get("deprecations", []))
    assert [v["event"] for v in json.loads(journal.state.read_text())["verdicts"]] == ["gate"]
