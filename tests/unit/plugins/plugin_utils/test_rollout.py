"""The rollout's words: why a batch stops, and a summary line per bot."""

from __future__ import annotations

import pytest

from ansible_collections.botfleet.deploy.plugins.plugin_utils.rollout import (
    BatchError,
    rollout_batch_stop,
    rollout_batches,
    rollout_forks_line,
    rollout_line,
    rollout_refused,
    rollout_start_line,
    rollout_stop_reason,
    rollout_stopped_message,
    rollout_unreached,
)


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


@pytest.mark.parametrize(
    ("batches", "count", "sizes"),
    [
        ([1, "50%", "100%"], 5, [1, 2, 2]),
        ([1, "50%", "100%"], 4, [1, 2, 1]),
        ([1, "50%", "100%"], 1, [1]),
        ([1, "50%", "100%"], 0, []),
        ([1, "10%"], 5, [1, 1, 1, 1, 1]),
        (2, 5, [2, 2, 1]),
        ("2", 3, [2, 1]),
        ([1, 0], 6, [1, 5]),
        (0, 3, [3]),
        (["100%"], 3, [3]),
        ([5], 2, [2]),
    ],
    ids=[
        "default-5",
        "default-4",
        "one-bot",
        "empty",
        "small-percent",
        "scalar",
        "extra-var-string",
        "zero-rest",
        "zero",
        "all",
        "larger-than-fleet",
    ],
)
def test_the_batches_add_up_to_the_bots_as_serial_cuts_them(batches, count, sizes):
    assert rollout_batches(batches, count) == sizes


@pytest.mark.parametrize("batches", [["half"], [1, "150%"], ["0%"], [-1], [True], [1.5], [], [None], ["5 %x"]])
def test_a_batch_size_that_is_not_one_is_refused_with_what_to_give(batches):
    with pytest.raises(BatchError, match="botfleet_rollout_batches") as error:
        rollout_batches(batches, 5)
    assert "for example" in str(error.value) or "a percentage of them from 1% to 100%" in str(error.value)


CHECK_OK = {"ok": True, "canaries": {"3f9c2a1b0c4d": "barnacles"}, "reason": ""}
CHECK_WAITING = {
    "ok": False,
    "canaries": {"3f9c2a1b0c4d": "barnacles"},
    "reason": "canary barnacles has soaked 2h13m of 8h00m; run again after 06:29 UTC or pass -e botfleet_canary_soak=0",
}
CHECK_MISSING = {"ok": False, "canaries": {}, "reason": "no bot runs a passed canary of venv 3f9c2a1b0c4d"}


def test_the_start_line_names_the_canary_the_rollout_follows():
    assert rollout_start_line(CHECK_OK, "8h") == "canary barnacles passed venv 3f9c2a1b0c4d and has soaked 8h"


def test_a_waiting_canary_refuses_the_rollout_word_for_word():
    assert rollout_start_line(CHECK_WAITING, "8h", "jarvis") == (
        "rollout refused: canary barnacles has soaked 2h13m of 8h00m; run again after 06:29 UTC or pass "
        "-e botfleet_canary_soak=0"
    )


@pytest.mark.parametrize(
    ("limit", "hint"), [(None, ""), ("jarvis,msoar", " (is the canary within --limit jarvis,msoar?)")]
)
def test_a_missing_canary_asks_about_the_limit_only_under_one(limit, hint):
    assert rollout_start_line(CHECK_MISSING, "8h", limit) == (
        f"rollout refused: no bot runs a passed canary of venv 3f9c2a1b0c4d{hint}"
    )


def test_the_refusal_says_each_reason_once_then_the_unreachable_bots():
    refused = rollout_refused(
        ["rollout refused: x", "jarvis: preflight: bad pin", "rollout refused: x"], ["msoar", "toodles"]
    )
    assert refused == (
        "rollout refused, nothing was changed: rollout refused: x; jarvis: preflight: bad pin; "
        "unreachable: msoar, toodles"
    )


def test_nothing_refused_and_nobody_lost_lets_the_rollout_start():
    assert rollout_refused([], []) == ""
    assert rollout_refused([], ["msoar"]) == "rollout refused, nothing was changed: unreachable: msoar"


HOSTVARS = {
    "jarvis": {
        "_botfleet_rollout_info": {"vm": "lab-vm2", "current": "a" * 12, "target": "b" * 12},
        "__botfleet_lease": {"unreachable": True},
        "_botfleet_failure": "",
    },
    "msoar": {
        "_botfleet_rollout_info": {"vm": "lab-vm2", "current": "a" * 12, "target": "b" * 12},
        "__botfleet_lease": {"changed": False},
        "_botfleet_failure": "gate: probe: no reply from bot msoar",
        "botfleet_rollback": {"outcome": f"rolled back from release {'b' * 12} to {'a' * 12}, which serves again"},
    },
    "toodles": {
        "_botfleet_rollout_info": {"vm": "lab-vm1", "current": "a" * 12, "target": "b" * 12},
        "__botfleet_lease": {"changed": False},
        "_botfleet_failure": "",
    },
}


def test_a_bot_whose_lease_renewal_was_unreachable_stops_the_rollout_before_its_batch():
    unreached = rollout_unreached(
        HOSTVARS, ["jarvis", "msoar"], ["toodles", "jarvis", "msoar"], ["toodles", "jarvis", "msoar"]
    )
    assert unreached["lost"] == ["jarvis"]
    assert unreached["stop"] == (
        f"rollout stopped before deploying jarvis, msoar: jarvis could not be reached (lab-vm2): it runs release "
        f"{'a' * 12}, or {'b' * 12} if it was switched before it was lost; when lab-vm2 is back, run rollout.yml "
        "again: it reads what each bot runs and redeploys or rolls back a half-done one"
    )


def test_a_bot_dropped_from_the_play_earlier_counts_as_lost_once():
    unreached = rollout_unreached(HOSTVARS, ["msoar"], ["toodles", "jarvis", "msoar"], ["msoar"])
    assert unreached["lost"] == ["toodles", "jarvis"]
    assert unreached["stop"].startswith("rollout stopped before deploying msoar: jarvis could not be reached (lab-vm2)")
    assert "; toodles could not be reached (lab-vm1)" in unreached["stop"]


def test_a_batch_all_reached_goes_on():
    assert rollout_unreached(HOSTVARS, ["msoar", "toodles"], ["msoar", "toodles"], ["msoar", "toodles"]) == {
        "lost": [],
        "stop": "",
    }


def test_the_batch_stops_on_a_failure_and_on_a_bot_lost_during_it():
    assert rollout_batch_stop(HOSTVARS, ["toodles", "jarvis"], ["toodles", "jarvis"]) == ""
    stop = rollout_batch_stop(HOSTVARS, ["msoar", "jarvis", "toodles"], ["msoar", "toodles"])
    assert stop.startswith("msoar: gate: probe: no reply from bot msoar; jarvis could not be reached (lab-vm2): ")


def test_every_bot_of_the_batch_failed():
    hostvars = {bot: dict(HOSTVARS[bot], _botfleet_failure=f"gate: probe: no reply from bot {bot}") for bot in HOSTVARS}
    assert rollout_batch_stop(hostvars, ["jarvis", "msoar"], ["jarvis", "msoar"]) == (
        "jarvis: gate: probe: no reply from bot jarvis; msoar: gate: probe: no reply from bot msoar"
    )


def test_the_team_reads_the_stop_then_each_rollback():
    assert rollout_stopped_message(HOSTVARS, "rollout stopped: msoar: gate: probe: no reply", ["msoar", "toodles"]) == (
        f"**rollout stopped: msoar: gate: probe: no reply**. msoar: rolled back from release {'b' * 12} to {'a' * 12}, "
        "which serves again"
    )
    assert rollout_stopped_message(HOSTVARS, "rollout stopped: x", ["toodles"]) == "**rollout stopped: x**."


def test_a_batch_larger_than_the_forks_is_said_with_its_turns_and_where_to_set_forks():
    batch = [f"bot{n}" for n in range(35)]
    line = rollout_forks_line(batch, 10)
    assert line.startswith(
        "this batch has 35 bots and Ansible runs 10 at a time (forks), so each of its steps takes 4 turns"
    )
    assert "--forks 35" in line
    assert rollout_forks_line(batch[:11], "10").startswith(
        "this batch has 11 bots"
    ) and "takes 2 turns" in rollout_forks_line(batch[:11], 10)


def test_a_batch_that_fits_the_forks_says_nothing():
    assert rollout_forks_line(["barnacles"], 10) == ""
    assert rollout_forks_line([f"bot{n}" for n in range(10)], 10) == ""


def test_no_batches_given_is_the_default_one_then_half_then_the_rest():
    assert rollout_batches(None, 5) == rollout_batches([1, "50%", "100%"], 5) == [1, 2, 2]
