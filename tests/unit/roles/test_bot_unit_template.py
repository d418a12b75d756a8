"""The bot role's unit template rendered by ansible-playbook: botfleet_exec reaches systemd literally."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO, ansible_env

pytestmark = pytest.mark.slow


def render_unit(tmp_path, **variables):
    """The text of roles/bot/templates/bot.service.j2 with the role's defaults (its layout's too) and ``variables``."""
    (tmp_path / "vars.json").write_text(json.dumps(variables), encoding="utf-8")
    (tmp_path / "play.yml").write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        f"    - ansible.builtin.include_vars: {REPO}/roles/layout/defaults/main.yml\n"
        f"    - ansible.builtin.include_vars: {REPO}/roles/bot/defaults/main.yml\n"
        "    - ansible.builtin.debug:\n"
        f"        msg: \"{{{{ lookup('ansible.builtin.template', '{REPO}/roles/bot/templates/bot.service.j2') }}}}\"\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
            "-i",
            "localhost,",
            "-e",
            "@vars.json",
            "play.yml",
        ],
        env=ansible_env(ANSIBLE_PYTHON_INTERPRETER=sys.executable),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"ansible-playbook printed no JSON (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return report["plays"][0]["tasks"][-1]["hosts"]["localhost"]["msg"]


def test_a_percent_in_botfleet_exec_is_not_a_systemd_specifier(tmp_path):
    # Before, '%h' reached ExecStart= as is and systemd put the user's home directory there.
    unit = render_unit(tmp_path, botfleet_bot="barnacles", botfleet_exec="-m botfleet_demo_bot --greeting 100%h")
    [exec_start] = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    assert exec_start == (
        "ExecStart=/opt/botfleet/barnacles/current/venv/bin/python -m botfleet_demo_bot --greeting 100%%h"
    )


def test_a_bot_run_from_its_source_works_in_its_releases_app_with_its_pythonpath(tmp_path):
    unit = render_unit(
        tmp_path,
        botfleet_bot="barnacles",
        botfleet_exec="webex_bots/barnacles.py",
        botfleet_source={"repo": "/srv/git/bots.git", "version": "main"},
    )
    lines = unit.splitlines()
    assert "WorkingDirectory=/opt/botfleet/barnacles/current/app" in lines
    assert 'Environment="PYTHONPATH=."' in lines
    assert "ExecStart=/opt/botfleet/barnacles/current/venv/bin/python webex_bots/barnacles.py" in lines


def test_a_bot_without_source_keeps_its_working_directory_and_no_pythonpath(tmp_path):
    unit = render_unit(tmp_path, botfleet_bot="barnacles", botfleet_exec="-m botfleet_demo_bot")
    assert "WorkingDirectory=/var/lib/botfleet/barnacles/work" in unit.splitlines()
    assert "PYTHONPATH" not in unit


def test_a_bot_whose_source_is_installed_runs_from_its_venv_in_its_working_directory(tmp_path):
    unit = render_unit(
        tmp_path,
        botfleet_bot="barnacles",
        botfleet_exec="-m barnacles_bots",
        botfleet_source={"repo": "/srv/git/bots.git", "version": "main"},
        botfleet_source_install=True,
    )
    lines = unit.splitlines()
    # The code is in the venv: app/ on the path would shadow it with the same code unbuilt.
    assert "WorkingDirectory=/var/lib/botfleet/barnacles/work" in lines
    assert "PYTHONPATH" not in unit
    assert "ExecStart=/opt/botfleet/barnacles/current/venv/bin/python -m barnacles_bots" in lines
