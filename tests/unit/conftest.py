"""Shared fixtures: real virtualenvs built with uv, and real Ansible runs of the modules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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
