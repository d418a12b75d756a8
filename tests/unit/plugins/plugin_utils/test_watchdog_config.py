"""The configuration of a host's watchdog, from the inventory (plugin_utils/watchdog.py)."""

from __future__ import annotations

import pytest

from ansible_collections.botfleet.deploy.plugins.plugin_utils.watchdog import watchdog_config

TOKEN = "probe-token-0123456789"


def probe(bot, token=None, **extra):
    return {
        "base_url": "https://webexapis.com/v1/",
        "token": token or TOKEN,
        "to_person_email": f"{bot}@webex.bot",
        **extra,
    }


def test_the_configuration_names_each_bot_its_unit_and_its_probe_without_the_token():
    result = watchdog_config(
        ["barnacles", "toodles"],
        [probe("barnacles", timeout=20), probe("toodles")],
        {"token": "notify-token-0123456789", "room_id": "ROOM"},
        {"failures": 2, "max_restarts": 2, "settle": 15},
    )
    assert result["problems"] == []
    assert result["probe_token"] == "probe-token-0123456789"
    config = result["config"]
    assert [(b["bot"], b["unit"]) for b in config["bots"]] == [
        ("barnacles", "botfleet-barnacles.service"),
        ("toodles", "botfleet-toodles.service"),
    ]
    assert "0123456789" not in repr(config)
    assert config["notify"] == {"room_id": "ROOM"}
    # Two probes and a restart's settle and probe per bot: 2 * (2*20 + 30 + 15)... at least that.
    assert result["run_timeout"] >= 2 * 20 + 2 * 30 + 15


def test_the_watchdog_probe_timeout_replaces_the_gate_probes():
    result = watchdog_config(["barnacles"], [probe("barnacles", timeout=20)], None, {"probe_timeout": 5})
    assert result["config"]["bots"][0]["probe"]["timeout"] == 5
    assert "probe_timeout" not in result["config"]


@pytest.mark.parametrize(
    ("bots", "probes", "settings", "problem"),
    [
        ([], [], {}, "it watches no bot"),
        (["barnacles"], [{}], {}, "barnacles has no botfleet_probe with a token"),
        (["barnacles"], [], {}, "barnacles has no botfleet_probe with a token"),
        (["barnacles"], [probe("barnacles", colour="red")], {}, "does not know: colour"),
        (["a", "b"], [probe("a"), probe("b", token="another-token-0123")], {}, "different tokens"),
        (["barnacles"], [probe("barnacles")], {"failures": 0}, "botfleet_watchdog_failures must be"),
        (["barnacles"], [probe("barnacles")], {"max_restarts": "2"}, "botfleet_watchdog_max_restarts must be"),
    ],
)
def test_inputs_the_watchdog_cannot_use_are_named(bots, probes, settings, problem):
    problems = watchdog_config(bots, probes, None, settings)["problems"]
    assert any(problem in text for text in problems), problems
