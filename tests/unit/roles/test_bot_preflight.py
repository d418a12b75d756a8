"""The bot role's preflight through ansible-playbook, with hostile values of its variables.

One play over local hosts, one host per attack: each must fail at the preflight task that checks its
value, with a message that names the variable, before anything on a host changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ansible_env

pytestmark = pytest.mark.slow

INJECTION = "ExecStartPre=+/bin/sh -c id"
UNIT_VALUES = "Check the values that reach the bot's unit and paths"
MAX_RUNTIME = "Check how long the bot runs before systemd restarts it"
ENV = "Check the environment and the secrets (names only are reported)"
SOURCE_INSTALL = "Check that an installed source has a source"

# host: (its variables, the task that must fail, text of its message)
HOSTS = {
    "workdir-injection": (
        {"botfleet_workdir": f"/srv/x\n{INJECTION}"},
        UNIT_VALUES,
        "botfleet_workdir contains a newline",
    ),
    "user-injection": ({"botfleet_user": f"botfleet\n{INJECTION}"}, UNIT_VALUES, "botfleet_user contains a newline"),
    "group-injection": ({"botfleet_group": f"botfleet\n{INJECTION}"}, UNIT_VALUES, "botfleet_group contains a newline"),
    "log-dir-root": (
        {"botfleet_log_dir": "/var/log/bot /"},
        UNIT_VALUES,
        'botfleet_log_dir "/var/log/bot /" contains whitespace',
    ),
    "bot-newline": ({"botfleet_bot": "alpha\n"}, UNIT_VALUES, "botfleet_bot contains a newline"),
    "exec-secret": (
        {"botfleet_exec": "-m botfleet_demo_bot --token ${WEBEX_BOT_TOKEN}"},
        UNIT_VALUES,
        "botfleet_exec refers to the secret WEBEX_BOT_TOKEN",
    ),
    "root-injection": (
        {"botfleet_root": f"/opt/botfleet\n{INJECTION}"},
        UNIT_VALUES,
        "botfleet_root contains a newline",
    ),
    "config-dir-injection": (
        {"botfleet_config_dir": f"/etc/botfleet\n{INJECTION}"},
        UNIT_VALUES,
        "botfleet_config_dir contains a newline",
    ),
    "env-key-newline": (
        {"botfleet_environment": {"BOT_NAME\n": "barnacles"}},
        ENV,
        '"BOT_NAME\\n" is not a valid environment variable name',
    ),
    "secret-value-return": (
        {"botfleet_secrets": {"WEBEX_BOT_TOKEN": "lab-token\r"}},
        ENV,
        "the value of WEBEX_BOT_TOKEN contains a newline or another control character",
    ),
    "max-runtime-newline": (
        {"botfleet_max_runtime": "12h\n"},
        MAX_RUNTIME,
        "set botfleet_max_runtime to a systemd time span",
    ),
    "install-without-source": (
        {"botfleet_source_install": True},
        SOURCE_INSTALL,
        "botfleet_source_install is true but botfleet_source is empty",
    ),
}
GOOD = {
    "ansible_connection": "local",
    "ansible_python_interpreter": sys.executable,
    "botfleet_bot": "barnacles",
    "botfleet_pins": {"webex_bot": "1.3.1"},
    "botfleet_exec": "-m botfleet_demo_bot",
    "botfleet_secrets": {"WEBEX_BOT_TOKEN": "lab-token"},
}


@pytest.fixture(scope="module")
def preflight(tmp_path_factory):
    """{host: {task name: result}} of one run of the preflight over a good host and one host per attack."""
    workdir = tmp_path_factory.mktemp("preflight")
    hosts = {"good": GOOD, **{name: {**GOOD, **values} for name, (values, _task, _text) in HOSTS.items()}}
    (workdir / "inventory.json").write_text(json.dumps({"all": {"hosts": hosts}}), encoding="utf-8")
    (workdir / "play.yml").write_text(
        "- hosts: all\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - ansible.builtin.include_role:\n"
        "        name: botfleet.deploy.bot\n"
        "        tasks_from: preflight\n",
        encoding="utf-8",
    )
    env = ansible_env()
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "inventory.json", "play.yml"],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"ansible-playbook printed no JSON (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    results = {}
    for task in report["plays"][0]["tasks"]:
        for host, result in task["hosts"].items():
            results.setdefault(host, {})[task["task"]["name"].split(" : ", 1)[-1]] = result
    return results


def test_good_values_pass_every_check(preflight):
    assert preflight["good"][UNIT_VALUES]["msg"] == "All assertions passed"
    assert preflight["good"][MAX_RUNTIME]["msg"] == "All assertions passed"
    assert [name for name, result in preflight["good"].items() if result.get("failed")] == []


@pytest.mark.parametrize("host", list(HOSTS))
def test_each_attack_fails_its_check_with_what_to_change(preflight, host):
    _values, task, text = HOSTS[host]
    failed = {name: result["msg"] for name, result in preflight[host].items() if result.get("failed")}
    assert list(failed) == [task]
    assert text in failed[task]
    assert INJECTION not in failed[task]
