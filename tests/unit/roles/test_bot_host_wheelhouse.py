"""bot_host's wheelhouse push through ansible-playbook, against a local directory as the VM's copy."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ansible_env, make_wheel

pytestmark = pytest.mark.slow


def push(tmp_path, house, copy):
    playbook = tmp_path / "push.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.include_role:\n        name: botfleet.deploy.bot_host\n"
        "        tasks_from: wheelhouse.yml\n"
    )
    argv = [
        os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
        str(playbook),
        "-e",
        json.dumps(
            {
                "ansible_python_interpreter": sys.executable,
                "botfleet_wheelhouse": str(house),
                "botfleet_wheelhouse_dir": str(copy),
            }
        ),
    ]
    proc = subprocess.run(argv, env=ansible_env(), capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    return report["stats"]["localhost"]["changed"]


def test_a_wheel_rebuilt_under_the_same_name_is_pushed_again(tmp_path):
    house, copy = tmp_path / "wheels", tmp_path / "vm-wheels"
    make_wheel(house, "toydep", "1.0")
    assert push(tmp_path, house, copy) == 2
    assert push(tmp_path, house, copy) == 0
    rebuilt = make_wheel(house, "toydep", "1.0", code="print('rebuilt')\n")
    assert push(tmp_path, house, copy) == 2
    assert (copy / rebuilt.name).read_bytes() == rebuilt.read_bytes()
