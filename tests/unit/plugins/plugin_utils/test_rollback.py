"""rollback_outcome: what the one rollback path says happened to a bot."""

from __future__ import annotations

import pytest

from ansible_collections.botfleet.deploy.plugins.plugin_utils.rollback import (
    failure_reason,
    rollback_line,
    rollback_outcome,
)

SWITCHED = {
    "changed": True,
    "previous_id": "b" * 12,
    "current_id": "a" * 12,
    "release": {"pins": {"webex-bot": "==1.0.8", "websockets": "==11.0.3"}},
}


def test_a_rollback_that_serves_again():
    gate = {"passed": True, "summary": "unit passed, probe passed (0.31s)"}
    result = rollback_outcome(SWITCHED, gate)
    assert result == {
        "ok": True,
        "outcome": f"rolled back from release {'b' * 12} to {'a' * 12} (webex-bot==1.0.8, websockets==11.0.3), "
        "which serves again (unit passed, probe passed (0.31s))",
    }


def test_a_restored_release_that_fails_its_gate_too_is_not_ok():
    result = rollback_outcome(SWITCHED, {"passed": False, "reasons": ["probe: no reply in 20s"]})
    assert result["ok"] is False
    assert result["outcome"].endswith("which FAILS its gate too: probe: no reply in 20s")


def test_a_bot_without_a_previous_release_is_stopped():
    result = rollback_outcome({"failed": True, "no_previous": True, "msg": "has no previous release"}, None)
    assert result == {"ok": False, "outcome": "it had no previous release, so it was stopped"}


def test_a_failed_rollback_names_the_command_to_run_next():
    failure = {"failed": True, "msg": "release x is not whole", "task": "Switch jarvis"}
    result = rollback_outcome(failure, None, False, "jarvis")
    assert result["ok"] is False
    assert "the rollback failed too (Switch jarvis: release x is not whole)" in result["outcome"]
    assert "rollback.yml -l jarvis -e botfleet_rollback_to=<release id>" in result["outcome"]


@pytest.mark.parametrize(
    ("switch", "check_mode", "expected"),
    [
        (SWITCHED, True, f"would roll back from release {'b' * 12} to {'a' * 12}"),
        ({"changed": False, "current_id": "a" * 12}, False, f"nothing to roll back: it is on release {'a' * 12}"),
        ({"already_rolled_back": True, "msg": "was already rolled back"}, False, "was already rolled back"),
    ],
)
def test_what_is_said_when_nothing_is_restarted(switch, check_mode, expected):
    result = rollback_outcome(switch, None, check_mode)
    assert result["ok"] is True
    assert result["outcome"].startswith(expected)


def test_the_failure_reason_prefers_a_failed_gate():
    gate = {"passed": False, "reasons": ["probe: no reply within 20s", "unit: restarted 3 times"]}
    assert failure_reason({"msg": "gate failed"}, {"name": "Report the gate"}, gate) == (
        "gate: probe: no reply within 20s; unit: restarted 3 times"
    )


def test_the_failure_reason_names_the_failed_task_otherwise():
    result = {"msg": "release 3f9c refused, nothing was switched"}
    assert failure_reason(result, {"name": "Build the release"}, {"passed": True}) == (
        "Build the release: release 3f9c refused, nothing was switched"
    )
    assert failure_reason(None, None) == "a task: failed"


ROLLED_BACK = {
    "ok": True,
    "outcome": f"rolled back from release {'b' * 12} to {'a' * 12}, which serves again",
    "switched": True,
    "seconds": 3.14159,
}


@pytest.mark.parametrize(
    ("rollback", "check_mode", "line"),
    [
        (ROLLED_BACK, False, f"toodles: rolled back from release {'b' * 12} to {'a' * 12}, which serves again in 3.1s"),
        (
            dict(ROLLED_BACK, outcome=f"would roll back from release {'b' * 12} to {'a' * 12}"),
            True,
            f"toodles: would roll back from release {'b' * 12} to {'a' * 12}",
        ),
        (
            {
                "ok": True,
                "outcome": "nothing was switched: it still serves the release it had",
                "switched": False,
                "seconds": 0.4,
            },
            False,
            "toodles: nothing was switched: it still serves the release it had",
        ),
    ],
    ids=["switched", "check-mode", "nothing-switched"],
)
def test_the_rollback_line_times_only_a_real_switch(rollback, check_mode, line):
    assert rollback_line(rollback, "toodles", check_mode) == line
