"""Shared fixtures: real virtualenvs built with uv, and real Ansible runs of the modules."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The interpreter the bots' hosts run (Debian 12); fall back to this one elsewhere.
TARGET_PYTHON = "/usr/bin/python3.11" if os.path.exists("/usr/bin/python3.11") else sys.executable
UV = shutil.which("uv", path=os.path.dirname(sys.executable)) or shutil.which("uv")


def make_venv(path, *requirements):
    """Create a real venv at ``path`` with uv and install ``requirements`` into it."""
    subprocess.run([UV, "venv", "--quiet", "--python", TARGET_PYTHON, str(path)], check=True)
    if requirements:
        subprocess.run(
            [UV, "pip", "install", "--quiet", "--python", str(Path(path, "bin", "python")), *requirements], check=True
        )
    return Path(path)


def make_wheel(directory, name, version, requires=(), code=""):
    """Write a real pure-Python wheel ``name-version-py3-none-any.whl`` into ``directory``; return its path.

    ``code`` is the package's ``__init__.py``: two wheels of the same name and version with other code
    are the "same name, other bits" a swapped wheel is.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {line}\n" for line in requires)
    files = {
        f"{name}/__init__.py": code or f"VERSION = {version!r}\n",
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: botfleet-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0)), text)
    return wheel


def git(repo, *args):
    """Run git in ``repo`` as a throwaway identity, without signing; return its output."""
    identity = ["-c", "user.name=t", "-c", "user.email=t@t.invalid", "-c", "commit.gpgsign=false"]
    return subprocess.run(
        ["git", "-C", str(repo), *identity, *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def bots_repository(path, requirements):
    """A git repository of bots, as the story's: webex_bots/barnacles.py and a requirements.txt, one commit."""
    (path / "webex_bots").mkdir(parents=True)
    (path / "webex_bots" / "barnacles.py").write_text("PING = 20\n")
    (path / "requirements.txt").write_text(requirements)
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "add", "-A")
    git(path, "commit", "--quiet", "-m", "Ping every 20 s")
    return path


def fake_release(store, release_id, created, unit=None, unit_text=None, **record):
    """A whole release as a build leaves it, with a stand-in interpreter (the store only checks it is there).

    With ``unit_text``, the release carries ``unit``; ``record`` adds fields to its release.json.
    """
    from ansible_collections.botfleet.deploy.plugins.module_utils.release import (
        COMPLETE_MARKER,
        config_digests,
        write_json_atomic,
    )

    path = os.path.join(store.releases_dir, release_id)
    os.makedirs(os.path.join(path, "venv", "bin"))
    python = os.path.join(path, "venv", "bin", "python")
    with open(python, "w") as handle:
        handle.write("#!/bin/sh\n")
    os.chmod(python, 0o755)  # noqa: S103 - an interpreter is executable by all
    config = {}
    if unit_text is not None:
        config[unit] = unit_text
        with open(os.path.join(path, unit), "w") as handle:
            handle.write(unit_text)
    record = {
        "id": release_id,
        "created": created,
        "config": config_digests(config),
        "unit": unit if config else None,
        **record,
    }
    write_json_atomic(os.path.join(path, "release.json"), record)
    with open(os.path.join(path, COMPLETE_MARKER), "w") as handle:
        handle.write(release_id + "\n")


def wheel_hash(wheel):
    return "sha256:" + hashlib.sha256(Path(wheel).read_bytes()).hexdigest()


def ansible_env(**extra):
    """The environment of an ansible or ansible-playbook run of this checkout, reporting in JSON."""
    return dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        **extra,
    )


@pytest.fixture
def venv_factory(tmp_path):
    def factory(*requirements, name="venv"):
        return make_venv(tmp_path / name, *requirements)

    return factory


@pytest.fixture
def run_module(tmp_path):
    """Run a botfleet module (with its action plugin) through ansible against localhost.

    Returns the task result as Ansible reports it.
    """

    def run(module, args, check=False, diff=False):
        env = ansible_env(ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
        argv = [
            os.path.join(os.path.dirname(sys.executable), "ansible"),
            "localhost",
            "-m",
            module,
            "-a",
            json.dumps(args),
            "-e",
            f"ansible_python_interpreter={sys.executable}",
        ]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, cwd=tmp_path, timeout=600)
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            pytest.fail(f"ansible printed no JSON (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return report["plays"][0]["tasks"][0]["hosts"]["localhost"]

    return run
