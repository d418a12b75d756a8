"""The gate's verdict, the rollout's canary check, a bot's drift and the duration options."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ansible_collections.botfleet.deploy.plugins.plugin_utils.canary import canary_check, canary_line
from ansible_collections.botfleet.deploy.plugins.plugin_utils.drift import deployment_drift
from ansible_collections.botfleet.deploy.plugins.plugin_utils.gate import gate_verdict
from ansible_collections.botfleet.deploy.plugins.plugin_utils.times import (
    DurationError,
    duration_seconds,
    human_duration,
)

HEALTHY_UNIT = {"active_state": "active", "uptime": 12.3, "restarts": 0}
GOOD_VENV = {
    "pins": {"websockets": {"name": "websockets", "wanted": "==16.1", "installed": "16.1", "satisfied": True}},
    "restart_pending": False,
    "units": {},
}
NOW = datetime(2026, 11, 28, 7, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (120, 120.0),
        ("120", 120.0),
        ("90s", 90.0),
        ("8h", 28800.0),
        ("1h 30min", 5400.0),
        ("2d", 172800.0),
        (0, 0.0),
        ("0", 0.0),
        ("1.5h", 5400.0),
    ],
)
def test_duration_seconds(value, seconds):
    assert duration_seconds(value) == seconds


@pytest.mark.parametrize("value", ["", "eight hours", "8 parsecs", "h8", "8h x"])
def test_bad_durations(value):
    with pytest.raises(DurationError):
        duration_seconds(value)


def test_human_duration():
    assert [human_duration(s) for s in (7980, 300, 42)] == ["2h13m", "5m00s", "42s"]


def test_all_checks_pass():
    verdict = gate_verdict(HEALTHY_UNIT, GOOD_VENV, {"latency": 0.84})
    assert verdict["passed"] is True
    assert verdict["latency"] == 0.84
    assert verdict["checks"] == {"unit": "passed (up 12s, 0 restarts)", "venv": "passed", "probe": "passed (0.84s)"}
    assert verdict["summary"] == "unit passed (up 12s, 0 restarts), venv passed, probe passed (0.84s)"


def test_probe_failure_is_the_reason_when_the_process_is_up():
    """The story: unit healthy, pins satisfied, and the bot answers nobody."""
    verdict = gate_verdict(HEALTHY_UNIT, GOOD_VENV, {"failed": True, "msg": "no reply from barnacles within 20s"})
    assert verdict["passed"] is False
    assert verdict["reasons"] == ["probe: no reply from barnacles within 20s"]
    assert verdict["checks"]["unit"].startswith("passed")


def test_one_reason_per_failed_check():
    venv = {
        "pins": {"websockets": {"name": "websockets", "wanted": "==16.1", "installed": "14.2", "satisfied": False}},
        "restart_pending": True,
        "units": {"u": {"newer_packages": ["websockets"], "switched_links": []}},
    }
    verdict = gate_verdict(
        {"failed": True, "msg": "the unit restarted during the health window"}, venv, {"skipped": True}
    )
    assert verdict["reasons"] == [
        "unit: the unit restarted during the health window",
        "venv: pins not satisfied: websockets wants ==16.1, installed 14.2",
        "venv: restart pending, the process runs code older than installed (websockets)",
    ]
    assert verdict["checks"]["probe"] == "skipped, the unit is not healthy"


def test_no_probe_configured():
    assert gate_verdict(HEALTHY_UNIT, GOOD_VENV, None)["checks"]["probe"] == "not configured"


def bots(**overrides):
    base = {
        "barnacles": {
            "target": "a" * 12,
            "current": "a" * 12,
            "canary": {"release": "a" * 12, "verdict": "passed", "at": "2026-11-27T20:00:00Z"},
        },
        "toodles": {"target": "a" * 12, "current": "b" * 12, "canary": None},
    }
    base.update(overrides)
    return base


def test_soaked_canary_allows_the_rollout():
    result = canary_check(bots(), "8h", NOW)
    assert result == {
        "ok": True,
        "canaries": {"a" * 12: "barnacles"},
        "reason": "",
        # toodles still runs another release: the canary's baseline, read since the mark.
        "baseline": ["toodles"],
        "since": "2026-11-27T20:00:00Z",
        "readers": {"barnacles": ["barnacles"], "toodles": ["toodles"]},
    }


def test_young_canary_says_when_to_come_back():
    result = canary_check(bots(), "12h", NOW)
    assert result["ok"] is False
    assert result["reason"] == (
        "canary barnacles has soaked 11h00m of 12h00m; run again after 08:00 UTC or pass -e botfleet_canary_soak=0"
    )


def test_soak_zero_allows_a_fresh_canary():
    assert canary_check(bots(), 0, NOW)["ok"] is True


def test_bots_with_their_own_configuration_share_the_canarys_venv():
    mark = {"release": "a" * 12, "venv": "v" * 12, "verdict": "passed", "at": "2026-11-27T20:00:00Z"}
    fleet = {
        "barnacles": {"target": "a" * 12, "venv": "v" * 12, "current": "a" * 12, "canary": mark},
        "toodles": {"target": "t" * 12, "venv": "v" * 12, "current": "o" * 12, "canary": None},
    }
    assert canary_check(fleet, "8h", NOW)["canaries"] == {"v" * 12: "barnacles"}
    # Its configuration changed since it passed (an edited botfleet_exec): the rollout would give it
    # another release than the one that passed, so the mark proves nothing about it.
    fleet["barnacles"]["target"] = "c" * 12
    refused = canary_check(fleet, "8h", NOW)
    assert refused["ok"] is False
    assert "with the configuration the rollout would give it" in refused["reason"]


@pytest.mark.parametrize(
    "barnacles",
    [
        {
            "target": "a" * 12,
            "current": "a" * 12,
            "canary": {"release": "a" * 12, "verdict": "failed", "at": "2026-11-27T20:00:00Z"},
        },
        {
            "target": "a" * 12,
            "current": "c" * 12,
            "canary": {"release": "a" * 12, "verdict": "passed", "at": "2026-11-27T20:00:00Z"},
        },
        {
            "target": "a" * 12,
            "current": "c" * 12,
            "canary": {"release": "c" * 12, "verdict": "passed", "at": "2026-11-27T20:00:00Z"},
        },
    ],
    ids=["failed-canary", "rolled-back-since", "canary-of-another-release"],
)
def test_no_valid_canary_refuses(barnacles):
    result = canary_check(bots(barnacles=barnacles), 0, NOW)
    assert result["ok"] is False
    assert result["reason"].startswith(f"no bot runs a passed canary of venv {'a' * 12}")
    assert "run canary.yml -l <bot> first" in result["reason"]


UNIT = "botfleet-barnacles.service"
ENV = "/etc/botfleet/barnacles.env"


def converged_facts(**unit):
    return {
        "files": {
            ENV: {"exists": True, "type": "file", "mode": "0600", "owner": "root", "group": "root", "checksum": "ab"}
        },
        "units": {
            UNIT: {
                "active_state": "active",
                "unit_file_state": "enabled",
                "restart_pending": False,
                "newer_packages": [],
                "switched_links": [],
                "newer_files": [],
                **unit,
            }
        },
    }


def expected(**changes):
    wanted = {
        "release": "faea352ea89f",
        "current": "faea352ea89f",
        "unit": UNIT,
        "files": {ENV: {"type": "file", "checksum": "ab", "mode": "0600", "owner": "root", "group": "root"}},
    }
    wanted.update(changes)
    return wanted


def test_converged_bot_has_no_drift():
    assert deployment_drift(converged_facts(), expected()) == []


def test_other_release_is_the_only_reason_and_needs_no_facts():
    assert deployment_drift(None, expected(current="7c6d3578ce57")) == ["runs release 7c6d3578ce57, not faea352ea89f"]
    assert deployment_drift(None, expected(current="")) == ["has no release yet"]


def test_each_file_difference_is_named():
    facts = converged_facts()
    facts["files"][ENV].update(checksum="cd", mode="0644", owner="botfleet")
    assert deployment_drift(facts, expected()) == [
        f"{ENV} differs from what the deployment writes",
        f"{ENV} has mode 0644, not 0600",
        f"{ENV} has owner botfleet, not root",
    ]
    facts["files"][ENV] = {"exists": False}
    assert deployment_drift(facts, expected()) == [f"{ENV} is missing"]


def test_unit_state_and_pending_restart_are_drift():
    facts = converged_facts(active_state="failed", unit_file_state="disabled", restart_pending=True, newer_files=[ENV])
    assert deployment_drift(facts, expected()) == [
        f"{UNIT} is failed",
        f"{UNIT} is disabled at boot, not enabled",
        f"{UNIT} awaits a restart ({ENV} changed since it started)",
    ]
    assert deployment_drift({"files": converged_facts()["files"]}, expected()) == [f"{UNIT} was not read"]


def test_the_soak_is_read_once_per_vm_and_converged_bots_are_no_baseline():
    mark = {"release": "a" * 12, "verdict": "passed", "at": "2026-11-27T20:00:00Z"}
    fleet = {
        "barnacles": {"target": "a" * 12, "current": "a" * 12, "canary": mark, "vm": "vm1"},
        "toodles": {"target": "a" * 12, "current": "b" * 12, "canary": None, "vm": "vm1"},
        "jarvis": {"target": "a" * 12, "current": "b" * 12, "canary": None, "vm": "vm2"},
        # Already on the target (an earlier, partial rollout): not the old behaviour to compare with.
        "msoar": {"target": "a" * 12, "current": "a" * 12, "canary": None, "vm": "vm2"},
    }
    result = canary_check(fleet, "8h", NOW)
    assert result["baseline"] == ["jarvis", "toodles"]
    assert result["readers"] == {"barnacles": ["barnacles", "toodles"], "jarvis": ["jarvis"]}


RANGE = {"commit_range": {"text": "bd7ff914..cb271f19 (1 commit: Reword the status reply)"}}


@pytest.mark.parametrize(
    ("info", "line"),
    [
        (
            {
                "kind": "failed",
                "release": {"release_id": "a" * 12, **RANGE},
                "failure": "gate: probe: no reply",
                "outcome": "rolled back to bbbbbbbbbbbb, which answers",
            },
            "canary barnacles failed: gate: probe: no reply; bd7ff914..cb271f19 (1 commit: Reword the status reply); "
            "rolled back to bbbbbbbbbbbb, which answers",
        ),
        # A build that failed leaves no release: the line still says what failed.
        (
            {"kind": "failed", "release": {}, "failure": "build: hash mismatch", "outcome": "nothing was switched"},
            "canary barnacles failed: build: hash mismatch; nothing was switched",
        ),
        (
            {
                "kind": "passed",
                "release": {"release_id": "a" * 12, **RANGE},
                "gate": "probe passed (0.41s)",
                "soak": "soak passed",
            },
            "canary barnacles passed on release aaaaaaaaaaaa (bd7ff914..cb271f19 (1 commit: Reword the status reply)): "
            "probe passed (0.41s); soak passed",
        ),
        (
            {
                "kind": "summary",
                "release": {"release_id": "a" * 12},
                "pins": {"websockets": "16.1", "webex_bot": "1.3.1"},
                "gate": "probe passed (0.41s)",
            },
            "canary barnacles passed on release aaaaaaaaaaaa (webex_bot 1.3.1, websockets 16.1): probe passed (0.41s)",
        ),
        (
            {
                "kind": "summary",
                "release": {"release_id": "a" * 12, **RANGE},
                "pins": {"websockets": "16.1"},
                "check_mode": True,
                "gate": "ignored in check mode",
            },
            "canary barnacles would move release aaaaaaaaaaaa "
            "(websockets 16.1; bd7ff914..cb271f19 (1 commit: Reword the status reply))",
        ),
    ],
)
def test_canary_line_says_what_canary_yml_says_of_a_bot(info, line):
    assert canary_line(dict(info, bot="barnacles")) == line


def test_canary_line_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="kind must be failed, passed or summary"):
        canary_line({"bot": "barnacles", "kind": "party"})
