"""The bot's secrets file is never readable by others, not even for the moment it is written.

ansible.builtin.template renames a new file into place and only then sets its mode: a new file holds
the secrets with mode 0644 (the umask's) for that moment. A poller that stats the file as fast as it
can, while the bot role's configure tasks write it, catches that moment on the old tasks.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading

import pytest
from conftest import ansible_env

pytestmark = pytest.mark.slow

ROUNDS = 8


def watch(path, stop, seen):
    """Note every (mode, size) ``path`` shows until ``stop`` is set."""
    while not stop.is_set():
        try:
            info = os.stat(path)
        except FileNotFoundError:
            continue
        seen.add((stat.S_IMODE(info.st_mode), info.st_size))


def configure(tmp_path, bot, token):
    variables = {
        "ansible_python_interpreter": sys.executable,
        "botfleet_bot": bot,
        "botfleet_exec": "-m botfleet_demo_bot",
        "botfleet_pins": {"webex_bot": "1.3.1"},
        "botfleet_config_dir": str(tmp_path / "etc"),
        "botfleet_workdir": str(tmp_path / "work" / bot),
        "botfleet_user": "root",
        "botfleet_group": "root",
        "botfleet_secrets": {"WEBEX_BOT_TOKEN": token},
    }
    (tmp_path / "vars.json").write_text(json.dumps(variables), encoding="utf-8")
    (tmp_path / "play.yml").write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - ansible.builtin.include_role:\n"
        "        name: botfleet.deploy.bot\n"
        "        tasks_from: configure.yml\n"
        # Ends before the restart handler: this host runs no systemd.
        "    - ansible.builtin.meta: end_play\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
            "-c",
            "local",
            "-i",
            "localhost,",
            "-e",
            "@vars.json",
            "play.yml",
        ],
        env=ansible_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_secrets_file_is_0600_from_its_first_byte(tmp_path):
    (tmp_path / "etc").mkdir()
    seen = set()
    for round_ in range(ROUNDS):
        bot = f"bot{round_}"
        path = tmp_path / "etc" / f"{bot}.env"
        stop = threading.Event()
        poller = threading.Thread(target=watch, args=(path, stop, seen), daemon=True)
        poller.start()
        try:
            configure(tmp_path, bot, f"lab-token-{round_}-" + "x" * 40)
        finally:
            stop.set()
            poller.join(timeout=5)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    readable = sorted((f"{mode:04o}", size) for mode, size in seen if mode & 0o077 and size > 0)
    assert readable == [], f"the secrets file was readable by others while it held {readable}"
