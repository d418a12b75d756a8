"""The canary's soak against its baseline: each of the story's criteria as a rule with its numbers."""

from __future__ import annotations

import pytest

from ansible_collections.botfleet.deploy.plugins.plugin_utils.soak import SoakRuleError, soak_rules, soak_verdict

WINDOW = {"since": "2026-11-27T22:00:00Z", "until": "2026-11-28T06:02:00Z", "seconds": 28920}


def report(**counts):
    base = {
        "restarts": 0,
        "planned_restarts": 0,
        "failed_exits": 0,
        "last_exit": None,
        "reconnects": 0,
        "connection_errors": 0,
        "emergency_reconnects": 0,
        "errors": 0,
        "tracebacks": 0,
        "last_probe": {"at": "2026-11-27T22:00:00Z", "latency": 0.3},
        "latencies": [0.3],
    }
    base.update(counts)
    return base


def soak(canary=None, **baseline):
    bots = {"barnacles": canary or report()}
    bots.update(baseline or {"toodles": report(), "jarvis": report()})
    return {"bots": bots, "window": WINDOW}


def verdict(data, **kwargs):
    return soak_verdict(data, "barnacles", [name for name in data["bots"] if name != "barnacles"], **kwargs)


def test_a_healthy_canary_passes_and_says_it_answered_the_first_message_after_idle():
    result = verdict(soak(), idle="8h", probe={"passed": True, "latency": 0.31})
    assert result["ok"] is True, result["reasons"]
    assert result["summary"] == (
        "barnacles answered the first message after 8h02m without traffic from botfleet (0.31s); "
        "over 8h02m it did no worse than its 2 baseline bots"
    )
    assert [row["bot"] for row in result["rows"]] == ["barnacles", "toodles", "jarvis"]
    assert result["table"].splitlines()[0].split()[:3] == ["bot", "part", "restarts"]
    assert "0.31s" in result["table"].splitlines()[1]


def test_a_crash_looping_canary_is_refused_with_its_last_exit():
    canary = report(
        restarts=14, failed_exits=14, last_exit={"at": "2026-11-28T05:12:03Z", "code": "exited", "status": "1"}
    )
    result = verdict(soak(canary))
    assert result["ok"] is False
    assert result["reasons"][0] == (
        "barnacles restarted 14 times in its soak (last exit status 1 at 05:12 UTC); "
        "baseline bots: max 0 (jarvis 0, toodles 0)"
    )
    assert result["reasons"][1].startswith("barnacles exited with a failure 14 times in its soak; baseline bots")


def test_planned_restarts_of_runtime_max_sec_do_not_count():
    assert verdict(soak(report(planned_restarts=16)))["ok"] is True


def test_reconnects_are_judged_against_the_baselines_maximum_plus_the_tolerance():
    data = soak(report(reconnects=5), toodles=report(reconnects=3), jarvis=report(reconnects=1))
    assert verdict(data)["ok"] is True  # 5 <= 3 + 2
    data["bots"]["barnacles"]["reconnects"] = 40
    result = verdict(data)
    assert result["reasons"] == [
        "barnacles reconnected 40 times in its soak; baseline bots: max 3 (jarvis 1, toodles 3); "
        "allowed 5 (baseline max + botfleet_soak_rules.reconnect_tolerance 2)"
    ]
    assert verdict(data, rules={"reconnect_tolerance": 40})["ok"] is True


def test_connection_errors_and_emergency_reconnects_fail_whatever_the_baseline_did():
    data = soak(report(connection_errors=1, emergency_reconnects=2), toodles=report(connection_errors=5))
    reasons = verdict(data)["reasons"]
    assert reasons[0].startswith("barnacles logged 1 connection errors in its soak; baseline bots: max 5")
    assert reasons[1].startswith("barnacles logged 2 emergency reconnections")


def test_error_lines_and_tracebacks_above_the_baseline_fail():
    result = verdict(soak(report(errors=2, tracebacks=1), toodles=report(errors=1)))
    assert result["reasons"] == [
        "barnacles logged 3 error lines in its soak; baseline bots: max 1 (toodles 1); "
        "allowed 1 (baseline max + botfleet_soak_rules.error_tolerance 0)"
    ]


def test_a_probe_during_the_soak_fails_the_idle_rule():
    canary = report(last_probe={"at": "2026-11-28T05:50:00Z", "latency": 0.3})
    result = verdict(soak(canary), idle="8h")
    assert result["ok"] is False
    assert result["reasons"] == [
        "botfleet sent barnacles a message 12m00s before this rollout (at 05:50 UTC); the first-message-after-idle "
        "test needs 8h00m without traffic from botfleet: run rollout.yml again after 13:50 UTC or pass "
        "-e botfleet_canary_idle=0"
    ]
    assert verdict(soak(canary), idle=0)["ok"] is True


def test_a_slow_answer_is_refused_against_the_baselines_recent_probes():
    data = soak(report(), toodles=report(latencies=[0.2, 0.4]), jarvis=report(latencies=[0.3]))
    assert verdict(data, probe={"passed": True, "latency": 1.9})["ok"] is True  # below the 2 s floor
    result = verdict(data, probe={"passed": True, "latency": 4.2})
    assert result["reasons"] == [
        "barnacles answered its probe in 4.20s; baseline bots' recent probes: median 0.30s; allowed 2.00s "
        "(botfleet_soak_rules.latency_factor 3 x median, at least latency_floor 2s)"
    ]


def test_a_failed_probe_is_a_reason():
    result = verdict(
        soak(), probe={"passed": False, "latency": None, "reasons": ["probe: no reply from bot barnacles"]}
    )
    assert result["reasons"] == ["barnacles failed its probe: probe: no reply from bot barnacles"]


def test_without_baseline_bots_the_absolute_rules_still_apply():
    result = soak_verdict({"bots": {"barnacles": report(restarts=1)}, "window": WINDOW}, "barnacles")
    assert result["summary"].startswith("barnacles broke the soak rules over 8h02m: barnacles restarted 1 times")
    assert "no baseline bot" in result["summary"]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"restart": 1}, "'restart' is not a soak rule"),
        ({"restarts": -1}, "restarts must be a number >= 0"),
        ({"latency_factor": "3"}, "latency_factor must be a number"),
    ],
)
def test_bad_rules_are_refused_by_name(rules, message):
    with pytest.raises(SoakRuleError, match=message):
        soak_rules(rules)


def test_the_canary_must_be_in_the_report():
    with pytest.raises(SoakRuleError, match="no entry for the canary barnacles"):
        soak_verdict({"bots": {}, "window": WINDOW}, "barnacles")
