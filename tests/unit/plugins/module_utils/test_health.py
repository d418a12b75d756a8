"""unit_health's decision logic, fed with observations shaped like systemctl show output."""

from __future__ import annotations

import getopt
import re

import pytest

from ansible_collections.botfleet.deploy.plugins.module_utils.health import (
    HealthError,
    HealthWatch,
    UnitObserver,
    build_watch,
    compile_patterns,
    message_text,
    parse_show,
    watch_unit,
)


def props(state="active", sub="running", restarts=0, pid=100, invocation="inv1", started=0.0):
    return {
        "Id": "botfleet-barnacles.service",
        "ActiveState": state,
        "SubState": sub,
        "NRestarts": str(restarts),
        "MainPID": str(pid if state == "active" else 0),
        "InvocationID": invocation,
        "ExecMainStartTimestampMonotonic": str(int(started * 1e6)),
    }


def test_healthy_once_up_for_stable_for():
    watch = HealthWatch(stable_for=10)
    assert watch.observe(props(started=100), [], now=105) == ("wait", "up 5s of the 10s it must stay up")
    assert watch.observe(props(started=100), [], now=110.5) == ("healthy", "")
    assert watch.report(110.5)["uptime"] == 10.5


def test_a_restart_during_the_window_fails():
    watch = HealthWatch(stable_for=10)
    watch.observe(props(started=100), [], now=101)
    verdict, reason = watch.observe(props(state="activating", sub="auto-restart", restarts=1), [], now=102)
    assert verdict == "failed"
    assert reason == "the unit restarted during the health window (NRestarts 0 -> 1)"


def test_a_new_main_process_fails_even_without_nrestarts():
    watch = HealthWatch(stable_for=10)
    watch.observe(props(pid=100, invocation="a", started=100), [], now=101)
    assert watch.observe(props(pid=200, invocation="b", started=102), [], now=103)[0] == "failed"


def test_a_unit_that_is_still_starting_is_waited_for():
    watch = HealthWatch(stable_for=0)
    assert watch.observe(props(state="activating", sub="start"), [], now=1)[0] == "wait"
    assert watch.observe(props(started=1), [], now=2) == ("healthy", "")


def test_failed_state_fails_with_the_result():
    verdict, reason = HealthWatch(stable_for=0).observe(
        dict(props(state="failed", sub="failed"), Result="exit-code"), [], now=1
    )
    assert (verdict, reason) == ("failed", "the unit failed (Result=exit-code)")


def test_fail_pattern_in_the_journal_fails_and_is_redacted():
    watch = HealthWatch(stable_for=0, fail_patterns=[re.compile(r"extra_headers")], secrets=["tok-123"])
    line = "connect failed for tok-123: unexpected keyword argument 'extra_headers'"
    verdict, reason = watch.observe(props(started=0), ["ok", line], now=30)
    assert verdict == "failed"
    assert "tok-123" not in reason
    assert watch.report(30)["matched_lines"] == [
        "connect failed for ********: unexpected keyword argument 'extra_headers'"
    ]


def test_a_token_the_bot_logged_cut_short_is_redacted_too():
    token = "NzA0ZDM3ZjMtYjNkYi00ZTM2LWE3YzYtZGQxN2Q0ZmQ2YjA4"
    watch = HealthWatch(stable_for=0, fail_patterns=[re.compile("refused")], secrets=[token])
    verdict, reason = watch.observe(props(started=0), [f"token {token[:20]}... refused"], now=30)
    assert (verdict, reason) == ("failed", "journal lines match fail_patterns: token ********... refused")


def test_ready_pattern_must_be_seen():
    watch = HealthWatch(stable_for=0, ready_pattern=re.compile("connected"))
    assert watch.observe(props(started=0), ["starting"], now=5) == (
        "wait",
        "no journal line matched ready_pattern 'connected'",
    )
    assert watch.observe(props(started=0), ["websocket connected"], now=6) == ("healthy", "")
    assert watch.report(6)["ready_line"] == "websocket connected"


def test_bad_regex_is_reported_with_the_option_name():
    with pytest.raises(HealthError, match=r"fail_patterns: '\(' is not a valid regular expression"):
        compile_patterns(["("], "fail_patterns")


def test_parse_show_and_binary_messages():
    assert parse_show("ActiveState=active\nExecMainStartTimestamp=Fri 2026-11-27 08:00:00 UTC\n") == {
        "ActiveState": "active",
        "ExecMainStartTimestamp": "Fri 2026-11-27 08:00:00 UTC",
    }
    assert message_text({"MESSAGE": [104, 105, 255]}) == "hi\ufffd"
    assert message_text({}) == ""


def test_watch_unit_refuses_negative_timeouts():
    with pytest.raises(HealthError, match="must be >= 0"):
        watch_unit(
            None,
            {
                "timeout": -1,
                "stable_for": 0,
                "poll_interval": 1,
                "fail_patterns": [],
                "ready_pattern": None,
                "redact": [],
                "unit": "x",
            },
        )


@pytest.mark.parametrize("ready", [None, ""])
def test_build_watch_without_a_ready_pattern(ready):
    watch = build_watch({"stable_for": 0, "fail_patterns": ["boom"], "ready_pattern": ready, "redact": []})
    assert watch.ready_pattern is None
    assert watch.observe(props(started=0), ["all fine"], now=1) == ("healthy", "")
    assert watch.observe(props(started=0), ["boom"], now=2)[0] == "failed"


def test_build_watch_with_a_bad_ready_pattern():
    with pytest.raises(HealthError, match="ready_pattern"):
        build_watch({"stable_for": 0, "fail_patterns": [], "ready_pattern": "[", "redact": []})


# systemctl's own option table (systemd 252, a subset): getopt_long permutes, so an argument that starts
# with '-' anywhere before '--' is an option, whatever its position.
SYSTEMCTL_SHORT = "ht:p:P:alqH:M:n:o:ir"
SYSTEMCTL_LONG = ["help", "version", "type=", "property=", "all", "user", "system", "host=", "machine=", "root="]


class FakeSystemctl:
    """Parses argv as systemctl does and answers ``show`` for the units it was given."""

    def __init__(self):
        self.parsed = []

    def __call__(self, argv):
        try:
            options, args = getopt.gnu_getopt(argv[1:], SYSTEMCTL_SHORT, SYSTEMCTL_LONG)
        except getopt.GetoptError as exc:
            return 1, "", f"systemctl: {exc}"
        self.parsed.append((options, args))
        units = args[1:]
        if not units:
            return 0, "Version=252\n", ""
        return 0, f"Id={units[0]}\nLoadState=loaded\nActiveState=active\nSubState=running\n", ""


@pytest.mark.parametrize("unit", ["-H", "--help", "--user", "-all", "-.mount", "botfleet-barnacles.service"])
def test_the_unit_name_is_never_taken_as_an_option(unit):
    systemctl = FakeSystemctl()
    props = UnitObserver(systemctl, unit).properties()
    options, args = systemctl.parsed[0]
    assert args == ["show", unit]
    assert [name for name, _value in options] == ["--property"]
    assert props["Id"] == unit


@pytest.mark.parametrize(
    "unit",
    [
        "botfleet-barnacles.service\n",
        "a b.service",
        "../etc/passwd",
        "bot*.service",
        "a@b@c.service",
        "",
        "x" * 256,
        "bot;id.service",
        "bot$(id).service",
    ],
)
def test_a_unit_name_systemd_would_not_take_is_refused_before_systemctl_runs(unit):
    systemctl = FakeSystemctl()
    with pytest.raises(HealthError, match="is not a systemd unit name: use letters, digits") as caught:
        watch_unit(
            systemctl,
            {
                "timeout": 0,
                "stable_for": 0,
                "poll_interval": 1,
                "fail_patterns": [],
                "ready_pattern": None,
                "redact": [],
                "unit": unit,
            },
        )
    assert "\n" not in str(caught.value)
    assert systemctl.parsed == []


def test_a_unit_stopped_by_its_start_limit_is_reset_and_restarted_once_more():
    from ansible_collections.botfleet.deploy.plugins.module_utils.health import restart_unit

    calls = []

    def run(argv):
        calls.append(argv[1])
        limited = argv[1] == "restart" and calls.count("restart") == 1
        return (1, "", "Start request repeated too quickly.\n") if limited else (0, "", "")

    assert restart_unit(run, "botfleet-toodles.service") is None
    assert calls == ["restart", "reset-failed", "restart"]

    def broken(argv):
        return (1, "", "Unit botfleet-x.service not found.") if argv[1] == "restart" else (0, "", "")

    assert restart_unit(broken, "botfleet-x.service") == "Unit botfleet-x.service not found."
