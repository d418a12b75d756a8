"""Target-side inspection against real venvs and real processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest
from ansible.utils.hashing import checksum_s
from conftest import UV

from ansible_collections.botfleet.deploy.plugins.module_utils.venv import (
    VenvError,
    file_info,
    file_mtimes,
    gather,
    pending_changes,
    probe,
    process_start_time,
    symlink_switches,
    unit_process,
    venv_state,
)


def run_command(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def test_probe_lists_distributions_and_interpreter(venv_factory):
    venv = venv_factory("websockets==11.0.3", "backoff==2.2.1")
    facts = probe(run_command, str(venv))
    assert facts["distributions"]["websockets"]["version"] == "11.0.3"
    assert facts["distributions"]["backoff"]["version"] == "2.2.1"
    assert facts["python"]["prefix"] == str(venv)
    assert facts["marker_environment"]["python_version"] == ".".join(facts["python"]["version"].split(".")[:2])
    assert facts["distributions"]["websockets"]["installed_at"] <= time.time()


def test_probe_ignores_pythonpath_of_the_caller(venv_factory, tmp_path, monkeypatch):
    venv = venv_factory()
    fake = tmp_path / "site" / "fake-9.9.dist-info"
    fake.mkdir(parents=True)
    (fake / "METADATA").write_text("Metadata-Version: 2.1\nName: fake\nVersion: 9.9\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    assert "fake" not in probe(run_command, str(venv))["distributions"]


def test_probe_reports_a_broken_interpreter(tmp_path):
    (tmp_path / "bin").mkdir()
    python = tmp_path / "bin" / "python"
    python.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    python.chmod(0o755)
    with pytest.raises(VenvError, match=r"failed to list its packages \(rc=3\): broken"):
        probe(run_command, str(tmp_path))


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "missing"),
        ("file", "is not a directory"),
        ("emptydir", "has no pyvenv.cfg"),
        ("nopython", "no executable bin/python"),
    ],
)
def test_venv_state_says_why_a_path_is_not_a_venv(tmp_path, setup, expected):
    path = tmp_path / "venv"
    if setup == "file":
        path.write_text("")
    elif setup in ("emptydir", "nopython"):
        path.mkdir()
        if setup == "nopython":
            (path / "pyvenv.cfg").write_text("home = /usr/bin\n")
    assert expected in venv_state(str(path))


def test_gather_missing_venv_is_a_fact(tmp_path):
    facts = gather(run_command, str(tmp_path / "nope"))
    assert facts["exists"] is False
    assert facts["distributions"] == {}


def test_gather_refuses_a_directory_that_is_not_a_venv(tmp_path):
    with pytest.raises(VenvError, match=r"has no pyvenv\.cfg"):
        gather(run_command, str(tmp_path))


def test_process_start_time_of_a_real_process():
    before = time.time()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = process_start_time(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    # /proc counts in clock ticks (10 ms); allow a few of them each way.
    assert before - 0.05 <= started <= time.time() + 0.05


def test_process_start_time_of_a_gone_process():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    with pytest.raises(VenvError, match=f"process {proc.pid} is gone"):
        process_start_time(proc.pid)


def test_restart_pending_after_a_real_upgrade(venv_factory):
    """A process started from the venv, then websockets upgraded under it: the upgrade is pending."""
    venv = venv_factory("websockets==11.0.3")
    python = str(venv / "bin" / "python")
    proc = subprocess.Popen([python, "-c", "import websockets, time; time.sleep(60)"])
    try:
        started = process_start_time(proc.pid)
        facts = probe(run_command, str(venv))
        assert pending_changes(started, facts["distributions"], {}) == ([], [])
        subprocess.run([UV, "pip", "install", "--quiet", "--python", python, "websockets==14.2"], check=True)
        facts = probe(run_command, str(venv))
        assert pending_changes(started, facts["distributions"], {}) == (["websockets"], [])
    finally:
        proc.kill()
        proc.wait()


def test_symlink_switch_counts_as_a_change(tmp_path):
    releases = tmp_path / "releases"
    (releases / "a").mkdir(parents=True)
    (releases / "b").mkdir()
    current = tmp_path / "current"
    current.symlink_to(releases / "a")
    started = time.time()
    time.sleep(0.05)
    tmp = tmp_path / "current.new"
    tmp.symlink_to(releases / "b")
    os.replace(tmp, current)
    switches = symlink_switches(str(current / "venv"))
    assert list(switches) == [str(current)]
    assert pending_changes(started, {}, switches) == ([], [str(current)])
    assert pending_changes(time.time() + 1, {}, switches) == ([], [])


def test_a_file_changed_after_the_process_started_is_pending(tmp_path):
    env_file = tmp_path / "barnacles.env"
    env_file.write_text("A=1\n")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = process_start_time(proc.pid)
        assert pending_changes(started, {}, file_mtimes(file_info([str(env_file), str(tmp_path / "absent")]))) == (
            [],
            [],
        )
        time.sleep(0.05)
        env_file.write_text("A=2\n")
        assert pending_changes(started, {}, file_mtimes(file_info([str(env_file)]))) == ([], [str(env_file)])
    finally:
        proc.kill()
        proc.wait()


def test_file_info_reports_what_a_deployment_compares(tmp_path):
    env_file = tmp_path / "barnacles.env"
    env_file.write_text("WEBEX_BOT_TOKEN=lab-barnacles-token\n")
    env_file.chmod(0o600)
    workdir = tmp_path / "work"
    workdir.mkdir(mode=0o750)
    workdir.chmod(0o750)
    absent = tmp_path / "absent.service"

    info = file_info([str(env_file), str(workdir), str(absent)])

    # The same SHA-1 Ansible reports for a rendered template, so a play can compare them.
    assert info[str(env_file)]["checksum"] == checksum_s("WEBEX_BOT_TOKEN=lab-barnacles-token\n")
    assert info[str(env_file)]["mode"] == "0600"
    assert info[str(env_file)]["type"] == "file"
    assert info[str(workdir)] == {
        "exists": True,
        "type": "directory",
        "mode": "0750",
        "owner": info[str(env_file)]["owner"],
        "group": info[str(env_file)]["group"],
        "checksum": None,
        "mtime": workdir.stat().st_mtime,
    }
    assert info[str(absent)] == {"exists": False}
    env_file.write_text("WEBEX_BOT_TOKEN=rotated\n")
    assert file_info([str(env_file)])[str(env_file)]["checksum"] != info[str(env_file)]["checksum"]


def test_gather_reports_the_files_even_without_a_venv(tmp_path):
    unit_file = tmp_path / "botfleet-barnacles.service"
    unit_file.write_text("[Service]\n")
    facts = gather(run_command, str(tmp_path / "venv"), files=[str(unit_file)])
    assert facts["exists"] is False
    assert facts["files"][str(unit_file)]["checksum"] == checksum_s("[Service]\n")


@pytest.mark.skipif(shutil.which("systemctl") is None, reason="needs the real systemctl (systemd need not run)")
@pytest.mark.parametrize("unit", ["--version", "-h"])
def test_a_unit_named_like_an_option_reaches_systemctl_as_a_unit(unit):
    # Without '--', `systemctl show --version --property=...` prints systemd's version and succeeds, so the
    # unit looked present. With it, systemctl looks the unit up (or fails without systemd): an error either way.
    with pytest.raises(VenvError, match=f"(unit {unit} does not exist on this host|systemctl show {unit} failed)"):
        unit_process(run_command, unit, {}, {})


@pytest.mark.parametrize("unit", ["botfleet-barnacles.service\nExecStart=/bin/sh", "*", "a/b.service", "-x y"])
def test_gather_refuses_a_unit_name_systemd_would_not_take(tmp_path, unit):
    with pytest.raises(VenvError, match="is not a systemd unit name"):
        gather(run_command, str(tmp_path / "venv"), units=[unit])
