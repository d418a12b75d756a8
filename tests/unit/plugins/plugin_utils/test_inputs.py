"""Role input checks behind the pin_problems, env_problems and systemd_env_value filters."""

from __future__ import annotations

import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.botfleet.deploy.plugins.filter.botfleet import FilterModule
from ansible_collections.botfleet.deploy.plugins.plugin_utils.inputs import (
    env_problems,
    pin_problems,
    systemd_env_value,
)


def test_valid_pins_have_no_problems():
    assert pin_problems({"webex_bot": "1.3.1", "websockets": ">=16,<17"}, ["botfleet-demo-bot==0.1.0"]) == []


def test_every_bad_pin_is_listed():
    problems = pin_problems({"websockets": ">>14", "webex_bot": "latest", "backoff": "2.2.1"}, ["demo bot"])
    assert len(problems) == 3
    assert any("'>>14'" in p for p in problems)
    assert any("'latest'" in p for p in problems)
    assert any("'demo bot'" in p for p in problems)


@pytest.mark.parametrize("pins", [{}, None, ["websockets==14.2"]])
def test_pins_must_be_a_non_empty_mapping(pins):
    assert pin_problems(pins) == ["botfleet_pins must be a non-empty mapping of package name to version or specifier"]


def test_env_problems_name_keys_never_values():
    problems = env_problems({"OK": "1", "bad-name": "x", "TWO": "a\nb"}, {"WEBEX_BOT_TOKEN": "", "OK": "s3cret"})
    assert (
        'botfleet_environment: "bad-name" is not a valid environment variable name '
        "(letters, digits and '_', not starting with a digit)"
    ) in problems
    assert (
        "botfleet_environment: the value of TWO contains a newline or another control character; "
        "environment files hold one line each"
    ) in problems
    assert "botfleet_secrets: WEBEX_BOT_TOKEN has no value" in problems
    assert "OK is in both botfleet_environment and botfleet_secrets; keep it in one" in problems
    assert "s3cret" not in " ".join(problems)


def old_env_problems_accept(key, value):
    """plugin_utils/inputs.py before it used module_utils/validate.py: '^...$' with re.match."""
    return re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key) is not None and "\n" not in value and "\0" not in value


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        # '$' accepts a trailing newline: the file gets a line "BOT_NAME" and a line '="barnacles"'.
        ("BOT_NAME\n", "barnacles", '"BOT_NAME\\n" is not a valid environment variable name'),
        ("BOT_NAME", "barnacles\r", "the value of BOT_NAME contains a newline or another control character"),
        ("BOT_NAME", "a\x1b[2Jb", "the value of BOT_NAME contains a newline or another control character"),
        ("BOT_NAME", "a\u2028b", "the value of BOT_NAME contains a newline or another control character"),
    ],
)
def test_the_old_env_check_accepted_the_attack_and_env_problems_refuse_it(key, value, says):
    assert old_env_problems_accept(key, value)
    for label, environment, secrets in (
        ("botfleet_environment", {key: value}, {}),
        ("botfleet_secrets", {}, {key: value}),
    ):
        problems = env_problems(environment, secrets)
        assert len(problems) == 1
        assert problems[0].startswith(f"{label}: ")
        assert says in problems[0]
        assert "\n" not in problems[0]
        # A value is never quoted: it may be a secret.
        assert value not in problems[0] or value == "barnacles"


def test_env_problems_accept_good_input():
    assert env_problems({"BOTFLEET_BOT_NAME": "barnacles"}, {"WEBEX_BOT_TOKEN": "t0k"}) == []


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("plain", '"plain"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("a\\b", '"a\\\\b"'),
        ("$HOME", '"\\$HOME"'),
        (8790, '"8790"'),
    ],
)
def test_systemd_env_value(value, quoted):
    assert systemd_env_value(value) == quoted


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "pin_problems",
        "env_problems",
        "systemd_env_value",
        "gate_verdict",
        "canary_check",
        "canary_line",
        "deployment_drift",
        "duration_seconds",
        "status_report",
        "rollback_outcome",
        "failure_reason",
        "rollout_stop_reason",
        "rollout_line",
        "rollout_batches",
        "rollout_start_line",
        "rollout_forks_line",
        "rollout_refused",
        "rollout_unreached",
        "rollout_batch_stop",
        "rollout_stopped_message",
        "provision_line",
        "rollback_line",
        "host_facts",
        "unit_value_problems",
        "soak_verdict",
        "scrub",
        "watchdog_config",
        "status_html",
        "adoption_plan",
        "adoption_line",
    }


def test_unit_value_problems_takes_the_secrets_or_their_keys():
    unit_value_problems = FilterModule().filters()["unit_value_problems"]
    values = {"botfleet_exec": "-m bot --token $WEBEX_BOT_TOKEN", "botfleet_workdir": "/srv/x"}
    problems = unit_value_problems(values, {"WEBEX_BOT_TOKEN": "s3cret"})
    assert len(problems) == 1
    assert problems[0].startswith("botfleet_exec refers to the secret WEBEX_BOT_TOKEN ($WEBEX_BOT_TOKEN)")
    assert unit_value_problems(values, ["WEBEX_BOT_TOKEN"]) == problems
    assert unit_value_problems(values) == unit_value_problems(values, None) == []
    assert "s3cret" not in problems[0]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["botfleet_bot"], "unit_value_problems expects a mapping of role variable name to value"),
        ({"botfleet_pins": {}}, "unit_value_problems: no check for botfleet_pins"),
    ],
)
def test_unit_value_problems_misuse_is_a_filter_error(values, message):
    with pytest.raises(AnsibleFilterError, match=message):
        FilterModule().filters()["unit_value_problems"](values)


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("duration_seconds", ("soon",), "soon"),
        ("canary_check", ({}, "soon"), "^botfleet_canary_soak: "),
        ("rollout_batches", (["half"], "5"), "'half' is not a batch size"),
        ("soak_verdict", ({}, "barnacles", [], {"nonsense_rule": 1}), "^soak_verdict: "),
    ],
)
def test_bad_input_to_a_filter_is_a_filter_error_that_names_it(name, args, message):
    """No Python traceback: the filter's own error, as AnsibleFilterError, with its prefix where it has one."""
    with pytest.raises(AnsibleFilterError, match=message):
        FilterModule().filters()[name](*args)


def test_rollout_batches_takes_the_count_as_ansible_gives_it():
    assert FilterModule().filters()["rollout_batches"]([1, "50%", "100%"], "5") == [1, 2, 2]
