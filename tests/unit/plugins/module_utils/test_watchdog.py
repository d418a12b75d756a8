"""The watchdog's decisions, records and metrics, with a fake probe, fake systemctl and an injected clock."""

from __future__ import annotations

import calendar
import json
import os

import pytest

from ansible_collections.botfleet.deploy.plugins.module_utils.lease import read_lease
from ansible_collections.botfleet.deploy.plugins.module_utils.watchdog import (
    METRICS_FILE,
    Watchdog,
    WatchdogError,
    check_config,
    decide,
    hold_reason,
    main,
    render_metrics,
)
from ansible_collections.botfleet.deploy.plugins.module_utils.webex_client import WebexError

NOW = calendar.timegm((2026, 11, 28, 7, 0, 0, 0, 0, 0))
TOKEN = "probe-token-0123456789abcdef"
RELEASE = "0123456789ab"
LEASE = {
    "holder": {"run_id": "ctl1:1:x", "controller": "ctl1", "pid": 1, "user": "alice", "playbook": "rollout.yml"},
    "acquired": "2026-11-28T06:50:00Z",
    "renewed": "2026-11-28T06:50:00Z",
    "expires": "2026-11-28T07:50:00Z",
}


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class FakeSystemd:
    def __init__(self):
        self.restarts = []
        self.nrestarts = 0

    def show(self, unit, props):
        return {"ActiveState": "active", "NRestarts": str(self.nrestarts)}

    def restart(self, unit):
        self.restarts.append(unit)
        return None


class Probes:
    """Answers in turn: True (the bot replies) or False (no reply), the last one repeated."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.sent = []

    def __call__(self, params):
        probes = self

        class _Probe:
            def run(self):
                probes.sent.append(params)
                answer = probes.answers.pop(0) if len(probes.answers) > 1 else probes.answers[0]
                if not answer:
                    raise WebexError(f"no reply from bot barnacles within 20s (token {params['token']})")
                return {"latency": 0.25}

        return _Probe()


@pytest.fixture
def fleet(tmp_path):
    root, state = tmp_path / "opt", tmp_path / "state"
    release = root / "barnacles" / "releases" / RELEASE
    release.mkdir(parents=True)
    (release / "release.json").write_text(json.dumps({"resolved": {"webex-bot": "1.0.8", "websockets": "11.0.3"}}))
    os.symlink(f"releases/{RELEASE}", root / "barnacles" / "current")
    (state / "barnacles").mkdir(parents=True)
    write_state(state, {"bot": "barnacles", "current": RELEASE, "previous": None, "history": []})
    config = check_config(
        {
            "bots": [
                {
                    "bot": "barnacles",
                    "unit": "botfleet-barnacles.service",
                    "probe": {"base_url": "http://127.0.0.1:1/v1/", "to_person_email": "barnacles@lab.invalid"},
                }
            ],
            "root": str(root),
            "state_dir": str(state),
            "textfile_dir": str(tmp_path / "textfile"),
            "settle": 5,
            "notify": {"to_person_email": "ops@lab.invalid"},
            # Nothing is installed on this host (no group botfleet): state.json keeps the test user's group.
        }
    )
    return tmp_path, config


def write_state(state_dir, state):
    (state_dir / "barnacles" / "state.json").write_text(json.dumps(state))


def read_state(tmp_path):
    return json.loads((tmp_path / "state" / "barnacles" / "state.json").read_text())


def watchdog(config, probes, clock, systemd=None, posted=None):
    return Watchdog(
        config,
        TOKEN,
        "notify-token-abcdefgh",
        systemd=systemd or FakeSystemd(),
        clock=clock,
        sleep=clock.sleep,
        probe_factory=probes,
        notify=(posted.append if posted is not None else lambda text: None),
    )


def test_a_bot_that_answers_is_left_running_and_its_probe_kept(fleet):
    tmp_path, config = fleet
    systemd, clock = FakeSystemd(), Clock()
    _samples, broken = watchdog(config, Probes(True), clock, systemd).run()
    assert broken == [] and systemd.restarts == []
    watch = json.loads((tmp_path / "state" / "barnacles" / "watchdog.json").read_text())
    assert watch["failures"] == 0 and watch["last_probe"]["ok"] is True
    assert watch["last_probe"]["at"] == "2026-11-28T07:00:00Z"
    assert read_state(tmp_path)["history"] == []


def test_a_deaf_bot_is_restarted_after_the_failures_in_a_row_recorded_and_posted(fleet):
    tmp_path, config = fleet
    systemd, clock, posted = FakeSystemd(), Clock(), []
    probes = Probes(False, False, True)
    watchdog(config, probes, clock, systemd, posted).run()
    assert systemd.restarts == []  # one failure is not enough (failures: 2)
    clock.now += 1800
    lines = watchdog(config, probes, clock, systemd, posted)
    lines.run()
    assert systemd.restarts == ["botfleet-barnacles.service"]
    event = read_state(tmp_path)["history"][-1]
    assert event["event"] == "watchdog" and event["action"] == "restarted" and event["outcome"] == "answers"
    assert event["release"] == RELEASE
    assert "it answers again (0.25s)" in event["reason"]
    assert len(posted) == 1 and "restarted barnacles" in posted[0]
    # The token never reaches what the watchdog writes or says.
    assert TOKEN not in json.dumps(read_state(tmp_path)) and TOKEN[:8] not in " ".join(lines.lines)
    assert TOKEN not in (tmp_path / "state" / "barnacles" / "watchdog.json").read_text()
    # The probe after the restart waited for the bot to settle.
    assert clock.now == NOW + 1800 + 5


def test_a_bot_that_stays_deaf_is_restarted_at_most_max_restarts_then_only_alerted(fleet):
    tmp_path, config = fleet
    systemd, clock, posted = FakeSystemd(), Clock(), []
    probes = Probes(False)
    for _run in range(6):
        watchdog(config, probes, clock, systemd, posted).run()
        clock.now += 60
    assert systemd.restarts == ["botfleet-barnacles.service"] * 2
    actions = [e["action"] for e in read_state(tmp_path)["history"] if e["event"] == "watchdog"]
    # Alerted once: the same alert at every run would fill the room and state.json's history.
    assert actions == ["restarted", "restarted", "alerted"]
    assert len(posted) == 3 and "not restarted again" in posted[-1]
    # An hour after the first restart, one may happen again.
    clock.now = NOW + 3600 + 120
    watchdog(config, probes, clock, systemd, posted).run()
    assert len(systemd.restarts) == 3


def test_a_leased_bot_is_left_alone(fleet):
    tmp_path, config = fleet
    (tmp_path / "state" / "barnacles" / "lease.json").write_text(json.dumps(LEASE))
    systemd, clock, probes = FakeSystemd(), Clock(), Probes(False)
    for _run in range(3):
        wd = watchdog(config, probes, clock, systemd)
        wd.run()
    assert probes.sent == [] and systemd.restarts == []
    assert "left alone, a deployment holds its lease: barnacles is leased to rollout.yml" in wd.lines[0]
    assert read_lease(str(tmp_path / "state"), "barnacles") == LEASE


def test_an_expired_lease_does_not_keep_the_watchdog_away(fleet):
    tmp_path, config = fleet
    (tmp_path / "state" / "barnacles" / "lease.json").write_text(json.dumps(LEASE))
    clock, probes = Clock(), Probes(True)
    clock.now = NOW + 3 * 3600
    watchdog(config, probes, clock).run()
    assert len(probes.sent) == 1


def test_a_canary_under_its_idle_soak_is_left_alone_until_a_soak_verdict(fleet):
    tmp_path, config = fleet
    canary = {"event": "canary", "verdict": "passed", "release": RELEASE, "at": "2026-11-28T06:00:00Z"}
    write_state(
        tmp_path / "state",
        {"bot": "barnacles", "current": RELEASE, "history": [], "canary": canary, "verdicts": [canary]},
    )
    clock, probes = Clock(), Probes(True)
    wd = watchdog(config, probes, clock)
    wd.run()
    assert probes.sent == [] and "canary under its idle soak since 2026-11-28T06:00:00Z" in wd.lines[0]
    soak = {"event": "soak", "verdict": "passed", "release": RELEASE, "at": "2026-11-28T06:59:00Z"}
    write_state(
        tmp_path / "state",
        {"bot": "barnacles", "current": RELEASE, "history": [], "canary": canary, "verdicts": [canary, soak]},
    )
    watchdog(config, probes, clock).run()
    assert len(probes.sent) == 1


@pytest.mark.parametrize(
    ("canary", "held"),
    [
        ({"verdict": "failed", "release": RELEASE, "at": "2026-11-28T06:00:00Z"}, False),
        ({"verdict": "passed", "release": "ffffffffffff", "at": "2026-11-28T06:00:00Z"}, False),
        ({"verdict": "passed", "release": RELEASE, "at": "2026-11-28T06:00:00Z"}, True),
        (None, False),
    ],
)
def test_hold_reason_of_canary_marks(canary, held):
    state = {"current": RELEASE, "canary": canary, "verdicts": []}
    assert (hold_reason("barnacles", state, None, NOW) is not None) == held


def test_a_bot_that_stays_deaf_is_alerted_again_an_hour_later():
    watch = {"failures": 9, "restarts": [NOW - 100, NOW - 50], "alerted": NOW - 1800}
    assert decide(watch, False, 2, 2, NOW) == "none"
    assert decide(dict(watch, alerted=NOW - 3700), False, 2, 2, NOW) == "alert"


@pytest.mark.parametrize(
    ("failures", "restarts", "probe_ok", "action"),
    [
        (1, [], False, "none"),
        (2, [], False, "restart"),
        (2, [NOW - 10, NOW - 20], False, "alert"),
        (2, [NOW - 4000, NOW - 20], False, "restart"),
        (5, [], True, "none"),
    ],
)
def test_decide(failures, restarts, probe_ok, action):
    assert decide({"failures": failures, "restarts": restarts}, probe_ok, 2, 2, NOW) == action


def test_metrics_carry_every_series_and_the_release_labels(fleet):
    tmp_path, config = fleet
    clock = Clock()
    watchdog(config, Probes(True), clock).run()
    text = (tmp_path / "textfile" / METRICS_FILE).read_text()
    assert (
        'botfleet_release_info{bot="barnacles",release="0123456789ab",webex_bot="1.0.8",websockets="11.0.3"} 1' in text
    )
    assert 'botfleet_probe_success{bot="barnacles"} 1' in text
    assert 'botfleet_probe_latency_seconds{bot="barnacles"} 0.25' in text
    assert f'botfleet_probe_timestamp_seconds{{bot="barnacles"}} {NOW}' in text
    assert 'botfleet_watchdog_restarts_total{bot="barnacles"} 0' in text
    assert text.count("# TYPE ") == 7 and text.endswith("\n")
    assert os.listdir(tmp_path / "textfile") == [METRICS_FILE]


def test_label_values_are_escaped():
    text = render_metrics([{"bot": "x", "release": 'a"b\\c\nd', "versions": {}, "unit": {}, "watch": {}}])
    assert 'release="a\\"b\\\\c\\nd"' in text


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ([], "not an object"),
        ({"bots": "barnacles"}, "bots must be a list"),
        ({"bots": [{"bot": "barnacles"}]}, "each bot needs exactly bot, unit, probe"),
        ({"bots": [{"bot": "x", "unit": "u", "probe": {"token": "t"}}]}, "holds a token"),
        ({"bots": [], "failures": 0}, "failures must be a whole number of at least 1"),
    ],
)
def test_bad_configuration_is_refused_in_words(config, message):
    with pytest.raises(WatchdogError, match=message):
        check_config(config)


def test_main_without_a_probe_token_says_where_it_comes_from(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"bots": []}))
    said = []
    assert main(str(config), str(tmp_path), out=said.append) == 1
    assert "no probe token" in said[0] and "LoadCredential=" in said[0]


def test_main_with_a_missing_configuration_exits_1_without_a_traceback(tmp_path):
    said = []
    assert main(str(tmp_path / "nope.json"), None, out=said.append) == 1
    assert "does not exist; run playbooks/watchdog.yml" in said[0]


def test_a_bot_left_alone_keeps_the_time_of_its_last_probe_in_the_metrics():
    kept = {"last_probe": {"ok": False, "at": "2026-11-28T07:00:00Z", "latency": None}, "restarts_total": 2}
    text = render_metrics([{"bot": "msoar", "release": None, "versions": {}, "unit": {}, "probe": None, "watch": kept}])
    assert f'botfleet_probe_timestamp_seconds{{bot="msoar"}} {NOW}\n' in text
    assert 'botfleet_probe_success{bot="msoar"} 0' in text
    assert "botfleet_probe_latency_seconds{" not in text
    assert 'botfleet_watchdog_restarts_total{bot="msoar"} 2' in text


def test_main_reads_its_configuration_from_the_credentials_of_the_service(tmp_path):
    (tmp_path / "config").write_text(json.dumps({"bots": [], "textfile_dir": ""}))
    (tmp_path / "probe-token").write_text(TOKEN + "\n")
    said = []
    assert main(None, str(tmp_path), out=said.append) == 0
    assert main(None, None, out=said.append) == 1
    assert "no configuration: give --config" in said[-1]
