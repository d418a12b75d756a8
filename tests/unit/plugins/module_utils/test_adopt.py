"""Adoption on the target, against real processes, a real git checkout and a real (pip-less) venv."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import git

from ansible_collections.botfleet.deploy.plugins.module_utils.adopt import (
    AdoptError,
    Handover,
    env_file_text,
    head_commit,
    inspect,
    legacy_record,
    local_changes,
    own_lineage,
    read_index,
    read_process,
    the_one,
    wait_gone,
)
from ansible_collections.botfleet.deploy.plugins.plugin_utils.inputs import systemd_env_value

BOT = "import time\nprint('bot up', flush=True)\nwhile True:\n    time.sleep(0.05)\n"


@pytest.fixture
def checkout(tmp_path):
    """The story's layout: a checkout with webex_bots/<bot>.py, a shared .venv and logs/."""
    top = tmp_path / "IR"
    (top / "webex_bots").mkdir(parents=True)
    (top / "webex_bots" / "barnacles.py").write_text(BOT)
    (top / "README").write_text("bots\n")
    (top / ".gitignore").write_text(".venv/\nlogs/\n")
    git(top, "init", "--quiet", "--initial-branch=main")
    git(top, "add", "-A")
    git(top, "commit", "--quiet", "-m", "bots")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(top / ".venv")], check=True)
    site = top / ".venv" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    for name, version in (("websockets", "11.0.3"), ("webex_bot", "1.0.8"), ("pip", "24.0")):
        info = site / f"{name}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (top / "logs").mkdir()
    return top


@pytest.fixture
def start_bot(checkout):
    """Start a bot as the team does: cd <checkout> && PYTHONPATH=. nohup .venv/bin/python webex_bots/<bot>.py &."""
    started = []

    def start(script="webex_bots/barnacles.py", **env):
        log = checkout / "logs" / (os.path.basename(script) + ".log")
        environ = {"PATH": os.environ["PATH"], "PYTHONPATH": ".", **env}
        shell = f"nohup .venv/bin/python {script} > {log} 2>&1 & echo $!"
        pid = int(
            subprocess.run(
                ["sh", "-c", shell], cwd=checkout, env=environ, capture_output=True, text=True, check=True
            ).stdout
        )
        started.append(pid)
        for _attempt in range(200):
            if log.exists() and "bot up" in log.read_text():
                break
            time.sleep(0.02)
        return pid

    yield start
    for pid in started:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_the_one_refuses_none_and_several_and_lists_what_it_saw():
    processes = {
        10: ["python", "webex_bots/barnacles.py"],
        11: ["python", "webex_bots/barnacles.py"],
        12: ["python", "webex_bots/toodles.py"],
    }
    assert the_one(processes, "toodles.py") == (12, ["python", "webex_bots/toodles.py"])
    with pytest.raises(AdoptError, match=r"no running process matches 'jarvis.py'.*botfleet_adopt_match"):
        the_one(processes, "jarvis.py")
    with pytest.raises(AdoptError, match=r"2 processes match .*pid 10: python webex_bots/barnacles.py; pid 11"):
        the_one(processes, "barnacles.py")


# A process whose own command line (and its parent's) quotes the match, as the module's does under
# ansible (sh -c '... barnacles.py ...'): it sees itself unless its lineage is left out.
LINEAGE_PROBE = """
import json, sys
from ansible_collections.botfleet.deploy.plugins.module_utils.adopt import command_lines, matching, own_lineage
token = sys.argv[1]
print(json.dumps({
    "lineage": [pid for pid, _argv in matching(command_lines(exclude=own_lineage()), token)],
    "everyone": [pid for pid, _argv in matching(command_lines(), token)],
}))
"""


def test_the_module_never_matches_itself_or_its_callers():
    lineage = own_lineage()
    assert os.getpid() in lineage and os.getppid() in lineage
    # A token no other process has: pytest-xdist's workers share one command line, so the test's own
    # command line is no such token.
    token = f"webex_bots/lineage-{os.getpid()}-{time.monotonic_ns()}.py"
    proc = subprocess.run(
        ["sh", "-c", f'{sys.executable} -c "$1" "$2"; true', "sh", LINEAGE_PROBE, token],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path)),
    )
    seen = json.loads(proc.stdout)
    assert seen["lineage"] == []
    # Without leaving its lineage out, the probe and the sh -c that started it quote the token.
    assert len(seen["everyone"]) == 2


def test_index_and_local_changes_of_a_real_checkout(checkout):
    entries = read_index((checkout / ".git" / "index").read_bytes())
    assert {path for path, *_rest in entries} == {".gitignore", "README", "webex_bots/barnacles.py"}
    assert local_changes(str(checkout), entries) == []
    # Touched but the same content: not a change (git status agrees).
    os.utime(checkout / "README", (1, 1))
    assert local_changes(str(checkout), entries) == []
    (checkout / "README").write_text("edited on the VM\n")
    (checkout / ".gitignore").unlink()
    assert local_changes(str(checkout), entries) == ["D .gitignore", "M README"]


def test_head_commit_from_loose_and_packed_refs(checkout):
    expected = git(checkout, "rev-parse", "HEAD")
    assert head_commit(str(checkout / ".git")) == (expected, "refs/heads/main")
    git(checkout, "pack-refs", "--all")
    assert not (checkout / ".git" / "refs" / "heads" / "main").exists()
    assert head_commit(str(checkout / ".git")) == (expected, "refs/heads/main")
    git(checkout, "checkout", "--quiet", "--detach")
    assert head_commit(str(checkout / ".git")) == (expected, None)


def test_inspect_reads_what_the_process_runs_and_never_a_secret(checkout, start_bot):
    pid = start_bot(WEBEX_BOT_TOKEN="s3cret-token-value", BOTFLEET_WEBEX_BASE="http://127.0.0.1:1")
    found = inspect(pid, plain_keys=["PYTHONPATH", "BOTFLEET_WEBEX_BASE", "ABSENT"], secret_keys=["WEBEX_BOT_TOKEN"])
    assert found["problems"] == []
    assert found["argv"] == [".venv/bin/python", "webex_bots/barnacles.py"]
    assert found["cwd"] == str(checkout)
    assert found["log"] == str(checkout / "logs" / "barnacles.py.log")
    assert found["venv"] == str(checkout / ".venv")
    assert found["distributions"] == {"websockets": "11.0.3", "webex_bot": "1.0.8"}
    assert found["commit"] == git(checkout, "rev-parse", "HEAD")
    assert found["script"] == "webex_bots/barnacles.py"
    assert found["environment"] == {"PYTHONPATH": ".", "BOTFLEET_WEBEX_BASE": "http://127.0.0.1:1"}
    assert "WEBEX_BOT_TOKEN" in found["environment_keys"]
    assert "s3cret" not in json.dumps(found)


def test_inspect_refuses_a_script_not_in_the_commit_and_a_missing_secret(checkout, start_bot):
    (checkout / "webex_bots" / "jarvis.py").write_text(BOT)
    pid = start_bot("webex_bots/jarvis.py")
    found = inspect(pid, secret_keys=["WEBEX_BOT_TOKEN"])
    commit = git(checkout, "rev-parse", "HEAD")[:12]
    assert found["problems"] == [
        f"its script webex_bots/jarvis.py cannot be found in the checkout's commit {commit}"
        " (exists but is not committed)",
        "its environment has no WEBEX_BOT_TOKEN (botfleet_adopt_secrets)",
    ]


def test_inspect_warns_of_local_changes(checkout, start_bot):
    (checkout / "README").write_text("edited\n")
    found = inspect(start_bot())
    assert found["local_changes"] == ["M README"]
    assert any("local changes (M README)" in warning for warning in found["warnings"])


def test_env_file_text_quotes_values_and_refuses_a_newline():
    text = env_file_text("barnacles", {"TOKEN": 'a"b\\c', "OTHER": "x"}, ["TOKEN"])
    assert text.splitlines()[1:] == ['TOKEN="a\\"b\\\\c"']
    with pytest.raises(AdoptError, match="TOKEN of barnacles holds a newline"):
        env_file_text("barnacles", {"TOKEN": "a\nb"}, ["TOKEN"])
    # Quoted as the bot role quotes its environment files, so the next deployment's file reads the same.
    assert env_file_text("barnacles", {"TOKEN": "p$ss"}, ["TOKEN"]).splitlines()[1] == "TOKEN=" + systemd_env_value(
        "p$ss"
    )
    assert "\\$" in systemd_env_value("p$ss")


class Systemctl:
    """Records systemctl calls, and whether the old process was still there at each."""

    def __init__(self, watched=None):
        self.calls = []
        self.watched = watched

    def __call__(self, argv):
        alive = self.watched is not None and not wait_gone(self.watched, 0)
        self.calls.append((argv, alive))
        return 0, "", ""


def test_hand_over_starts_the_unit_only_after_the_process_exited(checkout, start_bot, tmp_path):
    pid = start_bot(WEBEX_BOT_TOKEN="tok")
    systemctl = Systemctl(watched=pid)
    handover = Handover(systemctl, "barnacles", "botfleet-barnacles.service", str(tmp_path / "state" / "rec.json"))
    handover.save(read_process(pid), str(tmp_path / "barnacles.env"), ["WEBEX_BOT_TOKEN"])
    assert oct(os.stat(tmp_path / "state" / "rec.json").st_mode & 0o777) == "0o600"
    assert oct(os.stat(tmp_path / "barnacles.env").st_mode & 0o777) == "0o600"
    assert 'WEBEX_BOT_TOKEN="tok"' in (tmp_path / "barnacles.env").read_text()
    result = handover.hand_over(pid)
    assert systemctl.calls == [(["systemctl", "start", "--", "botfleet-barnacles.service"], False)]
    assert result["gap"] >= 0 and result["killed"] is False


def test_give_back_restarts_the_command_exactly_as_it_was(checkout, start_bot, tmp_path):
    pid = start_bot(WEBEX_BOT_TOKEN="tok")
    record = legacy_record(read_process(pid))
    os.kill(pid, signal.SIGTERM)
    assert wait_gone(pid, 10)
    handover = Handover(Systemctl(), "barnacles", "botfleet-barnacles.service", str(tmp_path / "rec.json"))
    result = handover.give_back(record, running=None)
    new = result["pid"]
    try:
        again = read_process(new)
        assert result["restarted"] is True and new != pid
        for key in ("argv", "cwd", "uid", "gid", "log", "environ"):
            assert again[key] == record[key], key
        status = open(f"/proc/{new}/status").read()
        ignored = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn:")), 16)
        assert ignored & (1 << (signal.SIGHUP - 1)), "SIGHUP is ignored, as under nohup"
        for _attempt in range(200):
            if (checkout / "logs" / "barnacles.py.log").read_text().count("bot up") == 2:
                break
            time.sleep(0.02)
        # Appended to the same log: the first run's output is still there.
        assert (checkout / "logs" / "barnacles.py.log").read_text().count("bot up") == 2
    finally:
        os.kill(new, signal.SIGKILL)


def test_give_back_does_not_start_a_second_copy(tmp_path):
    systemctl = Systemctl()
    handover = Handover(systemctl, "barnacles", "botfleet-barnacles.service", str(tmp_path / "rec.json"))
    assert handover.give_back({"argv": ["false"]}, running=4242) == {"pid": 4242, "restarted": False}
    assert systemctl.calls == [(["systemctl", "disable", "--now", "--", "botfleet-barnacles.service"], False)]
