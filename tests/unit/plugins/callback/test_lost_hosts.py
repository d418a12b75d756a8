"""The lost_hosts callback in real ansible-playbook runs: a bot whose VM stops answering mid-run.

The "VM" is an ssh target on a closed local port: the first task of the play reaches the bot
(over the local connection), a later one cannot, as when a VM is stopped during a canary.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ansible_env

pytestmark = pytest.mark.slow


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_canary(tmp_path, lost_task):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  hosts:\n"
        "    barnacles: {botfleet_vm: lab-vm1, ansible_connection: local}\n"
        "    toodles: {botfleet_vm: lab-vm1, ansible_connection: local}\n"
    )
    playbook = tmp_path / "canary.yml"
    playbook.write_text(
        f"""---
- name: Canary
  hosts: all
  gather_facts: false
  vars:
    ansible_python_interpreter: {sys.executable}
  tasks:
    - name: Deploy the target pins
      ansible.builtin.ping:
    - name: Check that the VM can still be reached
      ansible.builtin.ping:
      ignore_unreachable: true
      vars: {{ansible_connection: ssh, ansible_host: 127.0.0.1, ansible_port: {closed_port()}}}
      when: inventory_hostname == 'toodles'
    - name: Gate the canary
      ansible.builtin.ping:
      vars: {{ansible_connection: ssh, ansible_host: 127.0.0.1, ansible_port: {closed_port()}}}
      when: inventory_hostname in {lost_task!r}
"""
    )
    env = {**ansible_env(ANSIBLE_NOCOLOR="1"), "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"}
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(playbook)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_bot_lost_mid_run_is_named_with_its_vm_and_task(tmp_path):
    done = run_canary(tmp_path, ["barnacles", "toodles"])
    assert done.returncode == 4, done.stdout + done.stderr
    assert "BOTFLEET: BOTS LOST DURING THE RUN" in done.stdout
    for bot in ("barnacles", "toodles"):
        assert f"{bot}: its VM lab-vm1 could not be reached during canary.yml, at task 'Gate the canary'" in done.stdout
    # A reachability check the playbook judges itself (ignore_unreachable) is not a loss.
    assert "at task 'Check that the VM can still be reached'" not in done.stdout


def test_a_run_that_lost_nothing_prints_nothing_of_it(tmp_path):
    done = run_canary(tmp_path, [])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "BOTFLEET" not in done.stdout
