"""The fleet status matrix."""

from __future__ import annotations

from datetime import UTC, datetime

from ansible_collections.botfleet.deploy.plugins.plugin_utils.report import status_report

NOW = datetime(2026, 11, 28, 7, 0, 0, tzinfo=UTC)
NEW, OLD = "aaaaaaaaaaaa", "bbbbbbbbbbbb"


def bot(name, vm, current, **extra):
    entry = {
        "bot": name,
        "vm": vm,
        "current": current,
        "target": NEW,
        "packages": {
            "webex-bot": "1.3.1" if current == NEW else "1.0.8",
            "websockets": "16.1" if current == NEW else "11.0.3",
        },
        "unit": {
            "active_state": "active",
            "sub_state": "running",
            "uptime": 3725.0,
            "restarts": 0,
            "restart_pending": False,
            "newer_packages": [],
        },
        "canary": None,
        "last_probe": None,
    }
    entry.update(extra)
    return entry


def test_matrix_rows_and_summary():
    bots = [
        bot("toodles", "lab-vm1", OLD),
        bot(
            "barnacles",
            "lab-vm1",
            NEW,
            canary={"release": NEW, "verdict": "passed", "at": "2026-11-27T22:00:00Z"},
            last_probe={"latency": 0.8412, "at": "2026-11-28T06:58:00Z", "verdict": "passed"},
        ),
        bot(
            "jarvis",
            "lab-vm2",
            NEW,
            unit={
                "active_state": "activating",
                "sub_state": "auto-restart",
                "uptime": None,
                "restarts": 4,
                "restart_pending": True,
                "newer_packages": ["websockets"],
            },
        ),
    ]
    report = status_report(
        bots, ["webex_bot", "websockets"], hosts=["barnacles", "toodles", "jarvis", "msoar"], now=NOW
    )
    rows = {row["bot"]: row for row in report["rows"]}
    assert [row["bot"] for row in report["rows"]] == ["msoar", "barnacles", "toodles", "jarvis"]
    assert rows["barnacles"]["target"] == "yes"
    assert rows["barnacles"]["canary"] == f"passed {NEW} 9h00m ago"
    assert rows["barnacles"]["last_probe"] == "0.84s 2m00s ago"
    assert rows["barnacles"]["uptime"] == "1h02m"
    assert rows["toodles"]["target"] == f"NO (wants {NEW})"
    assert rows["toodles"]["websockets"] == "11.0.3"
    assert rows["jarvis"]["restart_pending"] == "YES: websockets"
    assert rows["jarvis"]["unit"] == "activating/auto-restart"
    assert rows["msoar"]["unit"] == "UNREACHABLE"
    assert report["summary"] == "4 bots: 2 on target, 2 not active, 1 with a restart pending"


def test_a_bot_rolled_back_on_its_vm_says_by_whom():
    by_hand = {"event": "rolled_back", "release": OLD, "from": NEW, "at": "2026-11-28T06:55:00Z", "by": "oncall"}
    bots = [
        bot("toodles", "lab-vm1", OLD, last_switch=dict(by_hand, via="botfleetctl")),
        # rollback.yml records no user: its rows stay as they were.
        bot("jarvis", "lab-vm2", OLD, last_switch={"event": "rolled_back", "release": OLD, "from": NEW}),
        # Moved again since: the rollback by hand is no longer what it runs.
        bot("msoar", "lab-vm2", NEW, target=OLD, last_switch=dict(by_hand, event="activated", release=NEW)),
    ]
    rows = {row["bot"]: row for row in status_report(bots, now=NOW)["rows"]}
    assert rows["toodles"]["target"] == f"NO (wants {NEW}; rolled back by oncall with botfleetctl 5m00s ago)"
    assert rows["jarvis"]["target"] == f"NO (wants {NEW})"
    assert rows["msoar"]["target"] == f"NO (wants {OLD})"


def test_text_and_markdown_have_one_line_per_bot_and_aligned_columns():
    report = status_report([bot("barnacles", "lab-vm1", NEW), bot("toodles", "lab-vm1", OLD)], now=NOW)
    header, _rule, *body = report["text"][:4]
    assert header.split()[:5] == ["bot", "VM", "release", "commit", "webex-bot"]
    assert len(body) == 2
    assert body[0].index("lab-vm1") == header.index("VM")
    markdown = report["markdown"].splitlines()
    assert markdown[0] == "# botfleet status, 2026-11-28T07:00:00Z"
    assert sum(1 for line in markdown if line.startswith("| barnacles") or line.startswith("| toodles")) == 2
    assert report["json"]["bots"][0]["bot"] == "barnacles"


def test_a_leased_bot_shows_its_holder():
    from ansible_collections.botfleet.deploy.plugins.plugin_utils.report import status_row

    lease = {
        "holder": {"run_id": "ctl1:42:1", "controller": "ctl1", "pid": 42, "user": "alice", "playbook": "rollout.yml"},
        "acquired": "2026-11-28T07:01:02Z",
        "expires": "2026-11-28T08:01:02Z",
    }
    row = status_row({"bot": "jarvis", "lease": lease}, NOW, [])
    assert row["lease"] == "rollout.yml by alice@ctl1 until 08:01"
    assert status_row({"bot": "jarvis"}, NOW, [])["lease"] == "-"


def test_the_last_soak_verdict_shows_and_a_failed_one_names_its_rule():
    from ansible_collections.botfleet.deploy.plugins.plugin_utils.report import status_row

    passed = {"event": "soak", "verdict": "passed", "at": "2026-11-28T06:00:00Z", "reason": "barnacles answered"}
    failed = {
        "event": "soak",
        "verdict": "failed",
        "at": "2026-11-28T06:30:00Z",
        "reason": "barnacles is worse than its baseline over 8h02m: barnacles restarted 14 times in its soak",
    }
    assert status_row(bot("barnacles", "vm1", NEW, soak=passed), NOW, [])["soak"] == "passed 1h00m ago"
    assert status_row(bot("barnacles", "vm1", NEW, soak=failed), NOW, [])["soak"] == (
        "FAILED 30m00s ago: barnacles restarted 14 times in its soak"
    )
    assert status_row(bot("toodles", "vm1", OLD), NOW, [])["soak"] == "-"


def test_the_watchdog_columns_show_its_last_probe_its_restarts_and_why_it_left_a_bot_alone():
    from ansible_collections.botfleet.deploy.plugins.plugin_utils.report import status_row

    answered = {
        "last_probe": {"ok": True, "latency": 0.314, "at": "2026-11-28T06:58:00Z"},
        "failures": 0,
        "restarts": [NOW.timestamp() - 4000, NOW.timestamp() - 600],
        "restarts_total": 3,
        "last_run": {"at": "2026-11-28T06:58:00Z", "action": "none"},
    }
    row = status_row({"bot": "jarvis", "watchdog": answered}, NOW, [])
    assert row["watchdog"] == "0.31s 2m00s ago"
    assert row["watchdog_restarts"] == "1 last hour, 3 in all"
    deaf = dict(answered, last_probe={"ok": False, "at": "2026-11-28T06:59:00Z"}, failures=3)
    assert status_row({"bot": "jarvis", "watchdog": deaf}, NOW, [])["watchdog"] == "FAILED 1m00s ago (3 in a row)"
    alone = dict(answered, last_run={"at": "2026-11-28T06:59:30Z", "left_alone": "a deployment holds its lease: x"})
    assert status_row({"bot": "jarvis", "watchdog": alone}, NOW, [])["watchdog"] == (
        "left alone 30s ago: a deployment holds its lease"
    )
    row = status_row({"bot": "jarvis"}, NOW, [])
    assert (row["watchdog"], row["watchdog_restarts"]) == ("-", "-")


def test_the_commit_column_shows_the_code_of_each_bots_release():
    source = {
        "kind": "git",
        "short": "3f9c2a61b0d4",
        "subject": "Ping every 10 s instead of 20 s, as the story's fix does",
    }
    tree = {"kind": "dir", "short": "9a8b7c6d5e4f", "subject": ""}
    report = status_report(
        [
            bot("barnacles", "vm1", NEW, commit=source),
            bot("jarvis", "vm1", NEW, commit=tree),
            bot("toodles", "vm1", OLD),
        ],
        now=NOW,
    )
    rows = {row["bot"]: row for row in report["rows"]}
    assert rows["barnacles"]["commit"] == "3f9c2a6 Ping every 10 s instead of 20 s, as the~"
    assert rows["jarvis"]["commit"] == "tree 9a8b7c6"
    assert rows["toodles"]["commit"] == "-"
    assert report["json"]["bots"][0]["commit"] == source


def test_an_adopted_bot_says_where_it_logged_before():
    bots = [
        {
            "bot": "barnacles",
            "vm": "vm1",
            "current": "70b9d239eaa3",
            "adopted_from": {
                "at": "2026-11-28T06:00:00Z",
                "release": "70b9d239eaa3",
                "log": "/home/ir/pub/IR/logs/barnacles.log",
            },
        },
        {"bot": "toodles", "vm": "vm1", "current": "7eae0403d4d4", "adopted_from": None},
    ]
    report = status_report(bots, now=NOW)
    note = (
        "barnacles logged to /home/ir/pub/IR/logs/barnacles.log before its adoption (release 70b9d239eaa3, 1h00m ago)"
    )
    assert report["text"][-1] == note
    assert [line for line in report["text"] if "before its adoption" in line] == [note]
    assert report["markdown"].endswith(f"- {note}\n")
