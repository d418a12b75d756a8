"""Hostile names and paths given to the modules directly: each is refused with a sentence, before any change.

The checks are module_utils/validate.py's, the same the bot role's preflight runs on the controller.
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest
import yaml
from conftest import REPO

INJECTION = "ExecStartPre=+/bin/sh -c id"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        # '$' accepted a trailing newline: /opt/botfleet/alpha\n/ was created.
        ({"bot": "alpha\n"}, "bot name contains a newline (character 6)"),
        ({"root": f"/opt/botfleet\n{INJECTION}"}, "root contains a newline (character 14)"),
        ({"state_dir": "var/lib/botfleet"}, 'state_dir "var/lib/botfleet" is not an absolute path'),
        ({"unit_dir": "/etc/systemd/system/../../tmp"}, "has a '..' component"),
    ],
)
def test_release_refuses_names_and_paths(tmp_path, run_module, args, says):
    base = {"bot": "alpha", "root": str(tmp_path / "opt"), "state_dir": str(tmp_path / "state"), "state": "pruned"}
    result = run_module("botfleet.deploy.release", dict(base, **args))
    assert result["failed"] is True
    assert says in result["msg"]
    assert "Traceback" not in json.dumps(result)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ({"bot": "alpha\n"}, "bot name contains a newline (character 6)"),
        ({"state_dir": "relative/state"}, 'state_dir "relative/state" is not an absolute path'),
        ({"playbook": "rollout.yml\nlease_broken"}, "playbook contains a newline"),
    ],
)
def test_run_lease_refuses_names_and_paths(tmp_path, run_module, args, says):
    base = {"bot": "alpha", "state_dir": str(tmp_path / "state"), "playbook": "rollout.yml"}
    result = run_module("botfleet.deploy.run_lease", dict(base, **args))
    assert result["failed"] is True
    assert says in result["msg"]
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ({"path": "/opt/botfleet/alpha\n/current/venv"}, "path contains a newline"),
        ({"files": ["etc/botfleet/alpha.env"]}, 'files "etc/botfleet/alpha.env" is not an absolute path'),
        ({"units": ["-H evil.service"]}, "is not a systemd unit name"),
    ],
)
def test_bot_facts_refuses_names_and_paths(tmp_path, run_module, args, says):
    result = run_module("botfleet.deploy.bot_facts", dict({"path": str(tmp_path / "venv")}, **args))
    assert result["failed"] is True
    assert says in result["msg"]


@pytest.fixture
def env_file(tmp_path):
    path = tmp_path / "alpha.env"
    path.write_text('WEBEX_BOT_TOKEN="lab-token-of-alpha"\n', encoding="utf-8")
    path.chmod(0o600)
    return path


def sha1(path):
    return hashlib.sha1(path.read_bytes()).hexdigest()  # noqa: S324 - the checksum Ansible reports


def test_a_secret_file_is_described_without_its_checksum(tmp_path, run_module, env_file):
    checksum = sha1(env_file)
    base = {"path": str(tmp_path / "venv")}
    # Before: the only way to read the file was files, which returns the checksum of the token's file.
    plain = run_module("botfleet.deploy.bot_facts", dict(base, files=[str(env_file)]))
    assert plain["files"][str(env_file)]["checksum"] == checksum

    same = run_module("botfleet.deploy.bot_facts", dict(base, secret_files={str(env_file): checksum}))
    entry = same["files"][str(env_file)]
    assert entry["as_expected"] is True
    assert "checksum" not in entry
    assert entry["mode"] == "0600"
    assert checksum not in json.dumps(same)

    other = run_module("botfleet.deploy.bot_facts", dict(base, secret_files={str(env_file): "0" * 40}))
    assert other["files"][str(env_file)]["as_expected"] is False
    assert checksum not in json.dumps(other)

    no_expectation = run_module("botfleet.deploy.bot_facts", dict(base, secret_files={str(env_file): None}))
    assert set(no_expectation["files"][str(env_file)]) == {"exists", "type", "mode", "owner", "group", "mtime"}


def test_the_bot_role_reads_its_secrets_file_only_as_a_secret_file():
    # activate.yml and converged.yml are not no_log: the env file went through files, checksum and all.
    for name in ("activate.yml", "converged.yml"):
        tasks = yaml.safe_load((REPO / "roles" / "bot" / "tasks" / name).read_text(encoding="utf-8"))
        reads = [task["botfleet.deploy.bot_facts"] for task in tasks if "botfleet.deploy.bot_facts" in task]
        assert reads, name
        for args in reads:
            assert "env" not in json.dumps(args.get("files", [])), name
            assert "__botfleet_files.env.path" in args["secret_files"], name
