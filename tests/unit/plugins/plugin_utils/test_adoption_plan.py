"""The first release of an adopted bot, and adopt.yml's summary line."""

from __future__ import annotations

import pytest

from ansible_collections.botfleet.deploy.plugins.plugin_utils.adopt import adoption_line, adoption_plan

FOUND = {
    "pid": 79,
    "argv": [".venv/bin/python", "webex_bots/barnacles.py"],
    "cwd": "/home/ir/pub/IR",
    "log": "/home/ir/pub/IR/logs/barnacles.log",
    "distributions": {"webex_bot": "1.0.8", "websockets": "11.0.3", "backoff": "2.2.1"},
    "script": "webex_bots/barnacles.py",
    "commit": "9b0223b116a6eb6c594c6e7adda4a471a0e9b2ac",
    "environment": {"PYTHONPATH": ".", "BOTFLEET_WEBEX_BASE": "http://127.0.0.1:8790"},
}


def test_the_release_is_what_the_process_runs():
    plan = adoption_plan(FOUND, "/srv/IR.git")
    assert plan["pins"] == {"backoff": "2.2.1", "webex_bot": "1.0.8", "websockets": "11.0.3"}
    assert plan["source"] == {"repo": "/srv/IR.git", "version": FOUND["commit"]}
    assert plan["exec"] == "webex_bots/barnacles.py"
    assert plan["pythonpath"] == "."
    # PYTHONPATH goes into the unit, not into the release's environment.
    assert plan["environment"] == {"BOTFLEET_WEBEX_BASE": "http://127.0.0.1:8790"}


def test_differences_from_the_inventory_in_words():
    plan = adoption_plan(
        FOUND,
        "/srv/IR.git",
        {
            "pins": {"Webex-Bot": "1.3.1", "websockets": "11.0.3", "uvloop": "0.19"},
            "requirements": ["botfleet-demo-bot==0.1.2"],
            "exec": "-m botfleet_demo_bot",
            "environment": {"BOTFLEET_WEBEX_BASE": "http://127.0.0.1:8790", "BOTFLEET_BOT_NAME": "barnacles"},
        },
    )
    assert plan["differences"] == [
        "uvloop: pinned 0.19 in inventory, not in the bot's venv",
        "Webex-Bot: runs 1.0.8, inventory pins 1.3.1",
        "requirement botfleet-demo-bot==0.1.2 in inventory: the adopted release has the venv's versions only",
        "runs webex_bots/barnacles.py, inventory's botfleet_exec is -m botfleet_demo_bot",
        "environment BOTFLEET_BOT_NAME: set in inventory, not in the process's environment",
    ]


def test_no_pythonpath_is_said_and_defaults_to_the_checkout():
    plan = adoption_plan(dict(FOUND, environment={}), "r")
    assert plan["pythonpath"] == "."
    assert plan["differences"] == ["the process runs without PYTHONPATH; the unit sets PYTHONPATH=. as botfleet does"]


@pytest.mark.parametrize(
    ("bot", "line"),
    [
        (
            {"check_mode": True, "release": "70b9d239eaa3"},
            "barnacles on vm1: would adopt pid 79 (.venv/bin/python webex_bots/barnacles.py in /home/ir/pub/IR)"
            " as release 70b9d239eaa3",
        ),
        (
            {
                "release": "70b9d239eaa3",
                "handover": {
                    "changed": True,
                    "gap": 0.042,
                    "stop_seconds": 0.3,
                    "killed": False,
                    "log": "/home/ir/pub/IR/logs/barnacles.log",
                },
            },
            "barnacles on vm1: adopted pid 79 (.venv/bin/python webex_bots/barnacles.py in /home/ir/pub/IR) as release"
            " 70b9d239eaa3; gap 0.042 s (stop took 0.3 s); its old log stays at /home/ir/pub/IR/logs/barnacles.log",
        ),
        (
            {
                "failure": "gate failed: no reply",
                "restored": {"restarted": True, "pid": 90, "log": "/home/ir/pub/IR/logs/barnacles.log"},
            },
            "barnacles on vm1: NOT ADOPTED: gate failed: no reply; restarted as it was (pid 90, logging to"
            " /home/ir/pub/IR/logs/barnacles.log)",
        ),
        (
            {"failure": "its script cannot be found"},
            "barnacles on vm1: NOT ADOPTED: its script cannot be found; left running as found: pid 79"
            " (.venv/bin/python webex_bots/barnacles.py in /home/ir/pub/IR)",
        ),
        (
            {"managed": True, "found": None},
            "barnacles on vm1: runs under botfleet already; nothing to adopt (status.yml shows its release)",
        ),
    ],
)
def test_summary_lines(bot, line):
    assert adoption_line({"name": "barnacles", "vm": "vm1", "found": FOUND, **bot}) == line
