"""run_lease through Ansible (module + action plugin): each ansible run is a run of its own."""

from __future__ import annotations

import calendar
import getpass
import json
import os
import socket
import subprocess
import sys
import time

import pytest
import yaml
from conftest import ansible_env

from ansible_collections.botfleet.deploy.plugins.plugin_utils.lease import process_start, run_id

HOST = socket.gethostname()


def stamp(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def lease_of(holder, acquired, ttl=3600):
    return {"holder": holder, "acquired": stamp(acquired), "renewed": stamp(acquired), "expires": stamp(acquired + ttl)}


ELSEWHERE = {
    "run_id": "ctl1:4242:b00t-100",
    "controller": "ctl1",
    "pid": 4242,
    "user": "alice",
    "playbook": "rollout.yml",
}


@pytest.fixture
def run_lease(tmp_path, run_module):
    base = {"bot": "jarvis", "state_dir": str(tmp_path / "state")}

    def call(check=False, **args):
        return run_module("botfleet.deploy.run_lease", dict(base, **args), check=check)

    call.state_dir = tmp_path / "state"
    call.file = tmp_path / "state" / "jarvis" / "lease.json"
    call.state = tmp_path / "state" / "jarvis" / "state.json"
    return call


def write_lease(run_lease, lease):
    run_lease.file.parent.mkdir(parents=True, exist_ok=True)
    run_lease.file.write_text(json.dumps(lease))


def stored(run_lease):
    return json.loads(run_lease.file.read_text())


def test_a_run_takes_the_lease_as_itself(run_lease):
    before = time.time()
    result = run_lease(playbook="rollout.yml")
    assert result.get("failed") is not True, result.get("msg")
    assert (result["changed"], result["holder"], result["broken"]) == (True, None, False)
    lease = stored(run_lease)
    assert result["lease"] == lease
    holder = lease["holder"]
    assert (holder["controller"], holder["user"], holder["playbook"]) == (HOST, getpass.getuser(), "rollout.yml")
    # The ansible process, not this test nor the worker that ran the action plugin.
    assert holder["pid"] != os.getpid()
    assert holder["run_id"].startswith(f"{HOST}:{holder['pid']}:")
    assert 0 <= calendar.timegm(time.strptime(lease["expires"], "%Y-%m-%dT%H:%M:%SZ")) - int(before) - 3600 < 60


def test_a_lease_left_by_an_ended_run_is_gone_and_broken_only_on_purpose(run_lease):
    first = run_lease(playbook="rollout.yml")["lease"]["holder"]
    refused = run_lease(playbook="canary.yml")
    assert refused["failed"] is True
    assert refused["msg"].startswith(f"jarvis is leased to rollout.yml run by {first['user']} on {HOST} (pid ")
    assert (
        f"; that run is gone (pid {first['pid']} on {HOST} has ended); pass -e botfleet_break_lease=true"
        in (refused["msg"])
    )
    assert refused["holder"] == first
    assert stored(run_lease)["holder"] == first

    broken = run_lease(playbook="canary.yml", break_lease=True)
    assert broken.get("failed") is not True, broken.get("msg")
    assert (broken["changed"], broken["broken"], broken["holder"]) == (True, True, first)
    assert stored(run_lease)["holder"]["playbook"] == "canary.yml"
    event = json.loads(run_lease.state.read_text())["history"][-1]
    assert (event["event"], event["reason"], event["holder"], event["by"]) == (
        "lease_broken",
        "gone",
        first,
        stored(run_lease)["holder"],
    )


def test_a_live_lease_of_another_controller_is_refused_even_with_break_lease(run_lease):
    lease = lease_of(ELSEWHERE, time.time() - 60)
    write_lease(run_lease, lease)
    for break_lease in (False, True):
        result = run_lease(playbook="canary.yml", break_lease=break_lease)
        assert result["failed"] is True
        assert result["msg"].startswith(
            f"jarvis is leased to rollout.yml run by alice on ctl1 (pid 4242) since {lease['acquired']}, until "
        )
        assert "or if that run is gone pass -e botfleet_break_lease=true on ctl1" in result["msg"]
        assert result["holder"] == ELSEWHERE
        assert result["lease"] == lease
    assert stored(run_lease) == lease
    assert not run_lease.state.exists()


def test_a_live_run_of_this_controller_is_never_broken(run_lease):
    # This test's own process stands for another ansible-playbook run on this controller.
    pid = os.getpid()
    alive = {"run_id": run_id(HOST, pid, process_start(pid)), "controller": HOST, "pid": pid, "user": "carol"}
    write_lease(run_lease, lease_of(dict(alive, playbook="provision.yml"), time.time()))
    result = run_lease(break_lease=True)
    assert result["failed"] is True
    assert result["msg"].endswith(
        f"; botfleet_break_lease breaks only an expired lease or one whose run is gone: that run is still running on "
        f"{HOST}; wait for it to finish"
    )
    assert stored(run_lease)["holder"]["user"] == "carol"


def test_an_expired_lease_of_another_controller_is_broken_on_purpose(run_lease):
    write_lease(run_lease, lease_of(ELSEWHERE, time.time() - 7200))
    refused = run_lease()
    assert refused["failed"] is True
    assert "; the lease has expired; pass -e botfleet_break_lease=true to break the lease" in refused["msg"]
    broken = run_lease(break_lease=True)
    assert broken.get("failed") is not True, broken.get("msg")
    assert broken["broken"] is True
    assert stored(run_lease)["holder"]["controller"] == HOST
    assert json.loads(run_lease.state.read_text())["history"][-1]["reason"] == "expired"


def test_releasing_leaves_the_lease_of_another_run_with_a_warning(run_lease):
    lease = lease_of(ELSEWHERE, time.time())
    write_lease(run_lease, lease)
    result = run_lease(state="released")
    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is False
    assert result["holder"] == ELSEWHERE
    assert any(
        "left the lease in place, since this run does not hold it: jarvis is leased to" in w for w in result["warnings"]
    )
    assert stored(run_lease) == lease
    assert run_lease(state="released", bot="toodles")["changed"] is False


def test_check_mode_writes_nothing(run_lease):
    result = run_lease(check=True, playbook="rollout.yml")
    assert result["changed"] is True
    assert result["lease"]["holder"]["playbook"] == "rollout.yml"
    assert not run_lease.state_dir.exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"bot": "../etc"}, "not usable in paths and unit names"),
        ({"ttl": 0}, "a lease must last at least 1 second"),
        ({"_holder": {"run_id": "me"}}, "internal to the run_lease action"),
        ({"state": "broken"}, "value of state must be one of: held, released"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(run_lease, args, fragment):
    result = run_lease(**args)
    assert result["failed"] is True
    assert fragment in result["msg"]
    assert not run_lease.state_dir.exists()


def test_a_damaged_lease_file_is_named_not_a_traceback(run_lease):
    write_lease(run_lease, [])
    result = run_lease()
    assert result["failed"] is True
    assert result["msg"] == (
        f"{run_lease.file} is not a botfleet run lease (a JSON list, not an object); "
        "remove it if no botfleet run is active on jarvis"
    )
    # A module that crashed would have left its traceback on stderr.
    assert "module_stderr" not in result


def run_playbook(tmp_path, tasks):
    """Run one play of ``tasks`` on localhost with ansible-playbook; returns (its pid, the tasks' results)."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    env = ansible_env()
    argv = [
        os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
        str(playbook),
        "-e",
        f"ansible_python_interpreter={sys.executable}",
    ]
    proc = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=300)
    try:
        report = json.loads(out)
    except ValueError:
        pytest.fail(f"ansible-playbook printed no JSON (rc={proc.returncode}):\n{out}\n{err}")
    return proc.pid, [task["hosts"]["localhost"] for task in report["plays"][0]["tasks"]]


def test_all_tasks_of_one_playbook_run_are_one_holder(tmp_path, run_lease):
    args = {"bot": "jarvis", "state_dir": str(run_lease.state_dir), "playbook": "rollout.yml"}
    pid, (taken, renewed, released) = run_playbook(
        tmp_path,
        [
            {"botfleet.deploy.run_lease": args},
            {"botfleet.deploy.run_lease": dict(args, ttl=60)},
            {"botfleet.deploy.run_lease": dict(args, state="released")},
        ],
    )
    assert taken["changed"] is True
    assert taken["lease"]["holder"]["pid"] == pid
    assert (renewed["changed"], renewed["holder"]) == (False, taken["lease"]["holder"])
    assert renewed["lease"]["acquired"] == taken["lease"]["acquired"]
    assert renewed["lease"]["expires"] < taken["lease"]["expires"]
    assert (released["changed"], released["lease"]) == (True, None)
    assert not run_lease.file.exists()
