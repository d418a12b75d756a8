"""The run identity and the gone judgement of the run_lease action, on this machine's real processes."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess

import pytest

from ansible_collections.botfleet.deploy.plugins.plugin_utils.lease import (
    holder_is_gone,
    process_start,
    run_id,
    this_run,
)

HOST = socket.gethostname()


@pytest.fixture
def ended_pid():
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def holder_of(pid, controller=HOST):
    return {"run_id": run_id(controller, pid, process_start(pid)), "controller": controller, "pid": pid}


def test_this_run_is_the_parent_process_started_once():
    run = this_run()
    parent = os.getppid()
    assert run["controller"] == HOST
    assert run["pid"] == parent
    assert run["user"] == getpass.getuser()
    with open(f"/proc/{parent}/stat") as handle:
        ticks = handle.read().rsplit(")", 1)[1].split()[19]
    assert run["run_id"].startswith(f"{HOST}:{parent}:")
    assert run["run_id"].endswith(f"-{ticks}")
    assert this_run() == run


def test_an_ended_process_has_no_start(ended_pid):
    assert process_start(ended_pid) is None


def test_the_start_is_read_past_a_command_name_with_spaces_and_parentheses(tmp_path):
    pid = os.getpid()
    (tmp_path / str(pid)).mkdir()
    (tmp_path / str(pid) / "stat").write_text(
        f"{pid} (a) b (c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 20\n"
    )
    (tmp_path / "sys" / "kernel" / "random").mkdir(parents=True)
    (tmp_path / "sys" / "kernel" / "random" / "boot_id").write_text("0f1e2d3c-aaaa-bbbb-cccc-000000000000\n")
    assert process_start(pid, str(tmp_path)) == "0f1e2d3c-424242"


def test_a_run_of_this_controller_whose_process_ended_is_gone(ended_pid):
    assert holder_is_gone(holder_of(ended_pid), HOST) is True


def test_a_running_run_is_not_gone():
    assert holder_is_gone(holder_of(os.getpid()), HOST) is False


def test_a_pid_now_running_another_process_is_gone():
    holder = holder_of(os.getpid())
    holder["run_id"] = holder["run_id"].rsplit("-", 1)[0] + "-1"
    assert holder_is_gone(holder, HOST) is True


def test_a_run_of_another_controller_is_never_known_gone(ended_pid):
    assert holder_is_gone(holder_of(ended_pid, "ctl-elsewhere"), HOST) is False


def test_a_running_pid_whose_start_cannot_be_read_is_not_gone(tmp_path):
    # As on a macOS controller, or for another user's process behind hidepid.
    holder = {"run_id": f"{HOST}:{os.getpid()}:b00t-1", "controller": HOST, "pid": os.getpid()}
    assert process_start(os.getpid(), str(tmp_path)) == ""
    assert holder_is_gone(holder, HOST, str(tmp_path)) is False


@pytest.mark.parametrize("pid", [None, "4242", True, 0, -1])
def test_a_holder_without_a_usable_pid_is_not_gone(pid):
    assert holder_is_gone({"run_id": f"{HOST}:x", "controller": HOST, "pid": pid}, HOST) is False
