"""botfleetctl's commands on a real release store and lease, with systemd played by a fake."""

from __future__ import annotations

import calendar
import io
import json
import os
import time

import pytest
from conftest import fake_release

from ansible_collections.botfleet.deploy.plugins.module_utils import ctl
from ansible_collections.botfleet.deploy.plugins.module_utils.lease import RunLease, read_lease
from ansible_collections.botfleet.deploy.plugins.module_utils.release import (
    ReleaseStore,
)

NOW = calendar.timegm((2026, 11, 28, 7, 1, 2, 0, 0, 0))
OLD, NEW = "0a0a0a0a0a0a", "1b1b1b1b1b1b"
UNIT = "botfleet-toodles.service"
ALICE = {"run_id": "ctl1:4242:b00t-100", "controller": "ctl1", "pid": 4242, "user": "alice", "playbook": "rollout.yml"}


class Systemd:
    """systemctl and journalctl of one unit: restarts start it (or fail it), show reports it."""

    def __init__(self, clock):
        self.clock = clock
        self.calls = []
        self.active, self.restarts, self.started = "active", 0, 0.0
        self.fail_start = False
        self.refuse_restarts = 0
        self.need_reload = "no"

    def __call__(self, argv):
        self.calls.append(argv)
        if argv[:2] == ["systemctl", "restart"]:
            if self.refuse_restarts:
                self.refuse_restarts -= 1
                return 1, "", "Job for botfleet-toodles.service failed: start request repeated too quickly"
            self.active = "failed" if self.fail_start else "active"
            self.started = self.clock.monotonic()
            return 0, "", ""
        if argv[:2] == ["systemctl", "show"] and "--value" in argv:
            return 0, self.need_reload + "\n", ""
        if argv[:2] == ["systemctl", "show"]:
            sub = "running" if self.active == "active" else "failed"
            props = {
                "Id": UNIT,
                "LoadState": "loaded",
                "ActiveState": self.active,
                "SubState": sub,
                "Result": "exit-code" if self.active == "failed" else "success",
                "UnitFileState": "enabled",
                "MainPID": "0",
                "NRestarts": str(self.restarts),
                "InvocationID": "",
                "ExecMainStartTimestampMonotonic": str(int(self.started * 1e6)),
            }
            return 0, "".join(f"{key}={value}\n" for key, value in props.items()), ""
        return 0, "", ""

    def commands(self):
        return [argv[1] for argv in self.calls if argv[0] == "systemctl" and argv[1] != "show"]


class Clock:
    def __init__(self):
        self.now = NOW
        self.mono = 1000.0

    def time(self):
        return self.now

    def monotonic(self):
        return self.mono

    def sleep(self, seconds):
        self.mono += seconds
        self.now += seconds


def make_release(store, release_id, created, versions, unit_text, **extra):
    """A whole release as a build leaves it: a stand-in interpreter, its unit, its record of versions."""
    pins = {name: f"=={version}" for name, version in versions.items() if name != "backoff"}
    fake_release(store, release_id, created, UNIT, unit_text, pins=pins, resolved=versions, **extra)


@pytest.fixture
def vm(tmp_path):
    """A VM where toodles was deployed on OLD, then moved to NEW by a rollout."""
    paths = {
        "root": str(tmp_path / "opt"),
        "state_dir": str(tmp_path / "state"),
        "config_dir": str(tmp_path / "etc"),
        "unit_dir": str(tmp_path / "units"),
        "group": "botfleet",
    }
    os.makedirs(paths["unit_dir"])
    store = ReleaseStore(paths["root"], paths["state_dir"], "toodles")
    make_release(
        store, OLD, "2026-11-27T06:00:00Z", {"webex-bot": "1.0.8", "websockets": "11.0.3", "backoff": "2.2.1"}, "old\n"
    )
    make_release(
        store,
        NEW,
        "2026-11-28T06:00:00Z",
        {"webex-bot": "1.3.1", "websockets": "16.1", "backoff": "2.2.1"},
        "new\n",
        commit="9f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6",
    )
    with store.lock():
        store.activate(OLD, "activated", paths["unit_dir"])
        store.activate(NEW, "activated", paths["unit_dir"])
    state = store.read_state()
    state["verdicts"] = [
        {"event": "canary", "verdict": "passed", "release": NEW, "at": "2026-11-28T06:10:00Z", "reason": ""},
        {"event": "rollout", "verdict": "passed", "release": NEW, "at": "2026-11-28T06:20:00Z", "reason": "gate ok"},
    ]
    state["canary"] = state["verdicts"][0]
    store.write_state(state)
    clock = Clock()
    systemd = Systemd(clock)
    host = ctl.Host(paths, run=systemd, clock=clock.time, monotonic=clock.monotonic, sleep=clock.sleep)
    return {"paths": paths, "store": store, "systemd": systemd, "host": host, "clock": clock}


def botfleetctl(vm, *argv, euid=0, user="oncall"):
    out, err = io.StringIO(), io.StringIO()
    environ = {"SUDO_USER": user} if user else {}
    code = ctl.main(list(argv), host=vm["host"], environ=environ, euid=euid, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def unit_file(vm):
    with open(os.path.join(vm["paths"]["unit_dir"], UNIT)) as handle:
        return handle.read()


def test_rollback_switches_the_whole_release_restarts_and_records_who(vm):
    code, out, err = botfleetctl(vm, "rollback", "toodles")
    assert (code, err) == (0, "")
    assert out.startswith(
        f"toodles: rolled back from {NEW} (webex-bot 1.3.1, websockets 16.1, commit 9f1e2d3c4b5a) "
        f"to {OLD} (webex-bot 1.0.8, websockets 11.0.3) by oncall; {UNIT} active, up 2s without a restart, 2."
    )
    store = vm["store"]
    assert store.current() == OLD
    assert unit_file(vm) == "old\n"
    # The unit file changed: systemd reloads it before the restart, then the unit stays up 2 s.
    assert vm["systemd"].commands() == ["daemon-reload", "restart"]
    state = store.read_state()
    assert (state["current"], state["previous"]) == (OLD, NEW)
    last = state["history"][-1]
    assert {key: last[key] for key in ("event", "release", "from", "by", "via")} == {
        "event": "rolled_back",
        "release": OLD,
        "from": NEW,
        "by": "oncall",
        "via": "botfleetctl",
    }
    verdict = state["verdicts"][-1]
    assert (verdict["event"], verdict["verdict"], verdict["release"], verdict["by"]) == (
        "rollback",
        "passed",
        OLD,
        "oncall",
    )
    assert verdict["reason"].startswith(f"botfleetctl rollback by oncall: {UNIT} active after 2.")
    # The lease was taken for the rollback and given back.
    assert read_lease(vm["paths"]["state_dir"], "toodles") is None
    broken = [entry for entry in state["history"] if entry["event"] == "lease_broken"]
    assert broken == []


def test_rollback_json_says_what_happened(vm):
    code, out, _err = botfleetctl(vm, "--json", "rollback", "toodles", "--stable", "0")
    result = json.loads(out)
    assert code == 0
    assert (result["from"], result["to"], result["by"], result["ok"], result["switched"]) == (
        NEW,
        OLD,
        "oncall",
        True,
        True,
    )
    assert result["to_release"]["versions"]["websockets"] == "11.0.3"


def test_rollback_refuses_while_a_playbook_holds_the_lease_and_names_it(vm):
    RunLease(vm["paths"]["state_dir"], "toodles", ALICE, clock=vm["clock"].time).hold()
    code, out, err = botfleetctl(vm, "rollback", "toodles")
    assert (code, out) == (3, "")
    assert err.startswith(
        "botfleetctl: rollback of toodles refused, nothing was changed: toodles is leased to rollout.yml run by "
        "alice on ctl1 (pid 4242) since 2026-11-28T07:01:02Z, until 08:01:02Z; wait for that run to finish"
    )
    assert vm["store"].current() == NEW and unit_file(vm) == "new\n"
    assert vm["systemd"].commands() == []
    assert read_lease(vm["paths"]["state_dir"], "toodles")["holder"] == ALICE


def test_break_lease_does_not_break_a_live_playbook_lease(vm):
    RunLease(vm["paths"]["state_dir"], "toodles", ALICE, clock=vm["clock"].time).hold()
    code, _out, err = botfleetctl(vm, "rollback", "toodles", "--break-lease")
    assert code == 3
    assert "--break-lease breaks only an expired lease" in err
    assert vm["store"].current() == NEW


def test_an_expired_lease_is_broken_only_when_asked_and_the_break_is_recorded(vm):
    RunLease(vm["paths"]["state_dir"], "toodles", ALICE, ttl=60, clock=vm["clock"].time).hold()
    vm["clock"].now += 120
    code, _out, err = botfleetctl(vm, "rollback", "toodles")
    assert code == 3
    assert "the lease has expired: pass --break-lease to take it over" in err
    assert vm["store"].current() == NEW

    code, _out, err = botfleetctl(vm, "rollback", "toodles", "--break-lease")
    assert (code, err) == (0, "")
    history = vm["store"].read_state()["history"]
    broken = [entry for entry in history if entry["event"] == "lease_broken"]
    assert len(broken) == 1 and broken[0]["holder"] == ALICE and broken[0]["by"]["user"] == "oncall"
    assert read_lease(vm["paths"]["state_dir"], "toodles") is None


def test_rollback_needs_root_and_changes_nothing_otherwise(vm):
    code, _out, err = botfleetctl(vm, "rollback", "toodles", euid=1000)
    assert code == 4
    assert "run it as root (sudo botfleetctl rollback toodles)" in err
    assert vm["store"].current() == NEW
    assert vm["systemd"].calls == []


def test_a_second_rollback_needs_to_name_the_release(vm):
    assert botfleetctl(vm, "rollback", "toodles")[0] == 0
    code, _out, err = botfleetctl(vm, "rollback", "toodles")
    assert code == 3
    assert f"toodles was already rolled back from {NEW} to {OLD}" in err
    assert "name the release to switch to (--to RELEASE)" in err
    assert vm["store"].current() == OLD

    code, out, _err = botfleetctl(vm, "rollback", "toodles", "--to", NEW)
    assert code == 0 and f"rolled back from {OLD}" in out
    assert vm["store"].current() == NEW and unit_file(vm) == "new\n"


def test_rollback_without_a_previous_release_is_refused(vm, tmp_path):
    store = ReleaseStore(vm["paths"]["root"], vm["paths"]["state_dir"], "jarvis")
    make_release(store, OLD, "2026-11-27T06:00:00Z", {"webex-bot": "1.0.8"}, "old\n")
    with store.lock():
        store.activate(OLD, "activated", vm["paths"]["unit_dir"])
    code, _out, err = botfleetctl(vm, "rollback", "jarvis")
    assert code == 3
    assert f"jarvis has no previous release recorded; name one with --to RELEASE (built releases: {OLD})" in err


def test_a_unit_that_does_not_come_up_fails_the_rollback_and_says_how_to_go_back(vm):
    vm["systemd"].fail_start = True
    code, out, _err = botfleetctl(vm, "rollback", "toodles")
    assert code == 1
    assert "but the unit failed (Result=exit-code)" in out
    assert f"journalctl -u {UNIT} says why; botfleetctl rollback toodles --to {NEW} goes back" in out
    verdict = vm["store"].read_state()["verdicts"][-1]
    assert (verdict["event"], verdict["verdict"]) == ("rollback", "failed")
    assert read_lease(vm["paths"]["state_dir"], "toodles") is None


def test_a_start_limit_refusal_is_cleared_and_the_restart_tried_once_more(vm):
    vm["systemd"].refuse_restarts = 1
    code, _out, _err = botfleetctl(vm, "rollback", "toodles")
    assert code == 0
    assert vm["systemd"].commands() == ["daemon-reload", "restart", "reset-failed", "restart"]


def test_units_are_reloaded_only_when_systemd_needs_it(vm):
    # Both releases with the same unit text: the switch does not change the unit file.
    with open(os.path.join(vm["paths"]["unit_dir"], UNIT), "w") as handle:
        handle.write("old\n")
    vm["store"].install_unit = lambda release_id, unit_dir: False
    assert botfleetctl(vm, "rollback", "toodles")[0] == 0
    assert vm["systemd"].commands() == ["restart"]


def test_status_shows_release_versions_unit_canary_verdicts_and_lease(vm):
    RunLease(vm["paths"]["state_dir"], "toodles", ALICE, clock=vm["clock"].time).hold()
    code, out, _err = botfleetctl(vm, "status")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "toodles"
    assert lines[1] == f"  release     {NEW}, built 2026-11-28T06:00:00Z (previous {OLD})"
    assert lines[2] == "  versions    webex-bot 1.3.1, websockets 16.1, commit 9f1e2d3c4b5a"
    assert lines[3] == f"  unit        {UNIT}: active/running, 0 restarts, no restart pending"
    assert lines[4] == f"  canary      passed on {NEW} 51m02s ago"
    assert lines[5].startswith("  lease       toodles is leased to rollout.yml run by alice on ctl1")
    assert lines[6] == "  verdicts    rollout passed 41m02s ago: gate ok"
    assert lines[7] == "              canary passed 51m02s ago"

    code, out, _err = botfleetctl(vm, "--json", "status", "toodles")
    document = json.loads(out)["toodles"]
    assert (document["release"], document["previous"]) == (NEW, OLD)
    assert document["current_release"]["versions"]["backoff"] == "2.2.1"
    assert document["unit"]["active_state"] == "active"
    assert document["lease"]["holder"] == ALICE


def test_status_after_a_rollback_is_what_state_json_says(vm):
    botfleetctl(vm, "rollback", "toodles")
    document = json.loads(botfleetctl(vm, "--json", "status")[1])["toodles"]
    assert (document["release"], document["previous"], document["lease"]) == (OLD, NEW, None)
    assert document["verdicts"][0]["event"] == "rollback"
    assert document["current_release"]["commit"] is None


def test_history_is_newest_first_with_who_made_each_switch(vm):
    # The store stamps history entries with the real time; the verdict must follow them.
    vm["clock"].now = time.time()
    botfleetctl(vm, "rollback", "toodles")
    code, out, _err = botfleetctl(vm, "history", "toodles")
    lines = out.splitlines()
    assert code == 0
    # The verdict is written after the switch it judges, in the same second.
    assert lines[0].endswith(f"rollback passed on {OLD}: botfleetctl rollback by oncall: {UNIT} active after 2.0s")
    assert lines[1].endswith(f"rolled_back {OLD} (from {NEW}) by oncall with botfleetctl")
    # Merged by time with the verdicts, which the fixture dated earlier than the switches.
    assert lines[-2:] == [
        f"2026-11-28T06:20:00Z  rollout passed on {NEW}: gate ok",
        f"2026-11-28T06:10:00Z  canary passed on {NEW}",
    ]
    assert len(lines) == 6
    assert len(botfleetctl(vm, "history", "toodles", "--limit", "2")[1].splitlines()) == 2


def test_releases_marks_current_and_previous(vm):
    code, out, _err = botfleetctl(vm, "releases", "toodles")
    assert code == 0
    assert out.splitlines() == [
        f"{NEW}  2026-11-28T06:00:00Z  webex-bot 1.3.1, websockets 16.1, commit 9f1e2d3c4b5a  [current]",
        f"{OLD}  2026-11-27T06:00:00Z  webex-bot 1.0.8, websockets 11.0.3  [previous]",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["status", "nobody"], "no bot named nobody on this host (bots here: toodles)"),
        (["rollback", "toodles", "--to", "HEAD~1"], "release id 'HEAD~1' is not a release id"),
        (["history", "../etc"], "bot name"),
        (["rollback", "toodles", "--timeout", "0"], "--timeout must be more than 0 seconds"),
    ],
)
def test_bad_input_is_a_usage_error_before_anything_changes(vm, argv, message):
    code, _out, err = botfleetctl(vm, *argv)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert vm["store"].current() == NEW and vm["systemd"].commands() == []


def test_a_damaged_state_file_is_reported_with_its_repair_and_other_bots_still_show(vm):
    jarvis = ReleaseStore(vm["paths"]["root"], vm["paths"]["state_dir"], "jarvis")
    make_release(jarvis, OLD, "2026-11-27T06:00:00Z", {"webex-bot": "1.0.8"}, "old\n")
    with jarvis.lock():
        jarvis.activate(OLD, "activated", vm["paths"]["unit_dir"])
    with open(vm["store"].state_file, "w") as handle:
        handle.write("{not json")
    code, out, _err = botfleetctl(vm, "status")
    assert code == 5
    lines = out.splitlines()
    assert lines[:2] == ["jarvis", f"  release     {OLD}, built 2026-11-27T06:00:00Z (previous none)"]
    assert lines[-2] == "toodles"
    assert "state.json is not valid JSON" in lines[-1] and "move it aside" in lines[-1]
    code, _out, err = botfleetctl(vm, "rollback", "toodles")
    assert code == 5 and "not valid JSON" in err
    assert vm["store"].current() == NEW


def test_a_state_file_the_user_cannot_read_says_who_may(vm, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(
        ctl.os, "access", lambda path, mode: not path.endswith("state.json") and real_access(path, mode)
    )
    code, _out, err = botfleetctl(vm, "history", "toodles")
    assert code == 4
    assert "reading a bot's state needs root or the botfleet group" in err


def test_unknown_commands_exit_2_and_help_documents_the_exit_codes(vm, capsys):
    with pytest.raises(SystemExit) as exited:
        ctl.main(["undo", "toodles"], host=vm["host"])
    assert exited.value.code == 2
    assert "invalid choice: 'undo'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        ctl.main(["--help"], host=vm["host"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for section in ("NAME", "SYNOPSIS", "COMMANDS", "EXIT STATUS", "FILES", "EXAMPLES"):
        assert f"\n{section}\n" in text
    assert "3   refused, nothing was changed" in text


def test_invoking_user_prefers_sudo_user():
    assert ctl.invoking_user({"SUDO_USER": "alice"}, 0) == "alice"
    assert ctl.invoking_user({}, 0) == "root"
