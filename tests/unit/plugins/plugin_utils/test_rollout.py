"""The rollout's words: why a batch stops, and a summary line per bot."""

from __future__ import annotations

import pytest

from ansible_collections.botfleet.deploy.plugins.plugin_utils.rollout import rollout_line, rollout_stop_reason


def test_a_batch_with_nothing_failed_and_nobody_lost_goes_on():
    assert rollout_stop_reason({"jarvis": "", "money_ball": ""}, [], {}) == ""


def test_the_stop_reason_names_failed_and_unreachable_bots():
    info = {"jarvis": {"vm": "lab-vm2", "current": "a" * 12, "target": "b" * 12}}
    reason = rollout_stop_reason({"money_ball": "gate: probe: no reply", "toodles": ""}, ["jarvis"], info)
    assert reason.startswith("money_ball: gate: probe: no reply; jarvis could not be reached (lab-vm2): ")
    assert f"it runs release {'a' * 12}, or {'b' * 12} if it was switched before it was lost" in reason
    assert "when lab-vm2 is back, run rollout.yml again" in reason
    assert "toodles" not in reason


INFO = {"current": "a" * 12, "target": "b" * 12}


@pytest.mark.parametrize(
    ("bot", "line"),
    [
        ({"part": "canary"}, f"jarvis: canary, on release {'b' * 12}"),
        (
            {"part": "canary", "soak": "jarvis answered the first message after 8h02m without traffic from botfleet"},
            f"jarvis: canary, on release {'b' * 12}: jarvis answered the first message after 8h02m without traffic "
            "from botfleet",
        ),
        ({"part": "converged"}, f"jarvis: already on release {'b' * 12} as deployed (left out of the batches)"),
        (
            {"part": "target", "reached": True, "rollback": "rolled back from release b to a, which serves again"},
            "jarvis: rolled back from release b to a, which serves again",
        ),
        (
            {"part": "target", "reached": False},
            f"jarvis: not touched, the rollout stopped before its batch (it runs release {'a' * 12})",
        ),
        (
            {
                "part": "target",
                "reached": True,
                "changed": True,
                "release": "b" * 12,
                "gate": "probe passed",
                "drift": [f"runs release {'a' * 12}, not {'b' * 12}"],
            },
            f"jarvis: moved to release {'b' * 12} (probe passed); found: runs release {'a' * 12}, not {'b' * 12}",
        ),
        (
            {
                "part": "target",
                "reached": True,
                "changed": True,
                "check_mode": True,
                "release": "b" * 12,
                "drift": ["x"],
            },
            f"jarvis: would move to release {'b' * 12}; found: x",
        ),
    ],
    ids=["canary", "canary-soak", "converged", "rolled-back", "not-reached", "moved", "check-mode"],
)
def test_the_summary_line_of_each_bot(bot, line):
    assert rollout_line(dict(bot, name="jarvis", info=INFO)) == line


def test_a_redeployed_bot_says_what_was_found():
    bot = {
        "name": "msoar",
        "part": "target",
        "reached": True,
        "changed": True,
        "release": "a" * 12,
        "info": {"current": "a" * 12, "target": "a" * 12},
        "drift": ["/etc/botfleet/msoar.env has mode 0644, not 0600"],
    }
    assert rollout_line(bot) == (
        f"msoar: redeployed release {'a' * 12}; found: /etc/botfleet/msoar.env has mode 0644, not 0600"
    )
