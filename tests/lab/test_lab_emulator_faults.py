"""The emulator's fault rules as plain functions, with the clock passed in: no server, no waiting."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any, cast

import pytest
from webex_emulator.faults import Fault, FaultRegistry, FaultSpecError, parse_fault
from webex_emulator.hub import Connection, Hub

OLD_CLIENT = "Python/3.11 websockets/11.0.3"
NEW_CLIENT = "Python/3.11 websockets/16.1"
WEBEX_BOT_108 = 'webex_bot/1.0.8 \'barnacles\' (webexpythonsdk/2.0.4 {"implementation": {"name": "CPython"}})'


def stale_fault(seconds: float = 10.0, user_agent: str | None = None) -> Fault:
    return parse_fault({"mode": "stale_after_idle", "seconds": seconds, "user_agent": user_agent})


@pytest.mark.parametrize(
    ("idle", "expected"),
    [(0.0, False), (9.999, False), (10.0, True), (3600.0, True)],
    ids=["just-active", "just-under", "exactly-T", "long-idle"],
)
def test_a_connection_goes_stale_after_seconds_without_a_delivery(idle: float, expected: bool) -> None:
    assert stale_fault().is_stale(OLD_CLIENT, idle_since=1000.0, now=1000.0 + idle) is expected


@pytest.mark.parametrize(
    ("pattern", "user_agent", "expected"),
    [
        (r"websockets/11\.", OLD_CLIENT, True),
        (r"websockets/11\.", NEW_CLIENT, False),
        # re.search: the pattern may match anywhere, unless anchored.
        (r"11\.0\.3", OLD_CLIENT, True),
        (r"^websockets/", OLD_CLIENT, False),
        # webex_bot replaces the library's User-Agent with its own: no websockets version in it.
        (r"websockets/11\.", WEBEX_BOT_108, False),
        (r"^webex_bot/1\.0\.", WEBEX_BOT_108, True),
        (None, NEW_CLIENT, True),
        (None, "", True),
    ],
)
def test_user_agent_regex_selects_which_connections_can_go_stale(
    pattern: str | None, user_agent: str, expected: bool
) -> None:
    assert stale_fault(user_agent=pattern).is_stale(user_agent, idle_since=0.0, now=60.0) is expected


@pytest.mark.parametrize("mode", ["blackhole", "delay", "rest_error"])
def test_other_faults_never_make_a_connection_stale(mode: str) -> None:
    fault = parse_fault({"mode": mode, "seconds": 1})
    assert not fault.is_stale(OLD_CLIENT, idle_since=0.0, now=1e9)


def connection(connected_at: float, user_agent: str = OLD_CLIENT) -> Connection:
    identity = SimpleNamespace(name="barnacles")
    # The websocket and request objects are not consulted by the rule.
    return Connection(
        id="c1",
        identity=cast(Any, identity),
        device_uuid="d1",
        ws=cast(Any, None),
        request=cast(Any, None),
        connected_at=connected_at,
        user_agent=user_agent,
    )


def hub_with(fault: Fault | None) -> Hub:
    registry = FaultRegistry()
    if fault is not None:
        registry.set("barnacles", fault)
    return Hub(cast(Any, SimpleNamespace(identities={})), registry)


def test_idle_counts_from_the_open_then_from_the_last_delivery() -> None:
    hub = hub_with(stale_fault(seconds=10.0))
    conn = connection(connected_at=100.0)
    assert not hub.is_stale(conn, now=109.0)
    assert hub.is_stale(conn, now=110.0)
    conn.last_delivery_at = 108.0
    assert not hub.is_stale(conn, now=117.0)
    assert hub.is_stale(conn, now=118.0)


def test_a_connection_that_swallowed_a_delivery_stays_stale_until_it_is_gone() -> None:
    """The server is closing it: clearing the fault or a fresh clock does not revive it."""
    hub = hub_with(None)
    conn = connection(connected_at=100.0)
    assert not hub.is_stale(conn, now=1e9)
    conn.stale = True
    assert hub.is_stale(conn, now=100.0)


def test_a_fault_set_on_an_already_idle_connection_applies_at_once() -> None:
    conn = connection(connected_at=100.0)
    assert not hub_with(None).is_stale(conn, now=500.0)
    assert hub_with(stale_fault(seconds=60.0)).is_stale(conn, now=500.0)


def test_stale_after_idle_round_trips_through_json() -> None:
    fault = stale_fault(seconds=6, user_agent=r"websockets/11\.")
    assert fault.to_json() == {
        "mode": "stale_after_idle",
        "since": fault.since,
        "seconds": 6.0,
        "user_agent": r"websockets/11\.",
    }
    # What the admin API lists can be posted back as is.
    assert replace(parse_fault(fault.to_json()), since=fault.since) == fault


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"mode": "stale_after_idle"}, "stale_after_idle needs seconds"),
        ({"mode": "stale_after_idle", "seconds": 0}, "stale_after_idle needs seconds"),
        ({"mode": "stale_after_idle", "seconds": 86401}, "stale_after_idle needs seconds"),
        ({"mode": "stale_after_idle", "seconds": 5, "user_agent": "("}, "not a valid regular expression"),
        ({"mode": "stale_after_idle", "seconds": 5, "user_agent": ["a"]}, "must be a string"),
        ({"mode": "delay", "seconds": 5, "user_agent": "a"}, "applies to stale_after_idle only"),
    ],
)
def test_invalid_stale_after_idle_specs_say_what_to_change(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        parse_fault(spec)


def test_a_blackhole_until_reconnect_deafens_only_the_websockets_open_when_it_was_set() -> None:
    fault = parse_fault({"mode": "blackhole", "until_reconnect": True})
    assert fault.deafens(fault.since - 30.0)
    assert not fault.deafens(fault.since + 0.5)
    forever = parse_fault({"mode": "blackhole"})
    assert forever.deafens(forever.since + 3600.0)
    assert replace(parse_fault(fault.to_json()), since=fault.since) == fault


@pytest.mark.parametrize(
    "spec",
    [{"mode": "blackhole", "until_reconnect": "yes"}, {"mode": "delay", "seconds": 1, "until_reconnect": True}],
)
def test_until_reconnect_is_a_boolean_of_blackhole_only(spec: dict[str, Any]) -> None:
    with pytest.raises(FaultSpecError, match="until_reconnect applies to blackhole only"):
        parse_fault(spec)
