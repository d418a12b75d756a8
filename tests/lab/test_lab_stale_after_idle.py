"""The story's incident with the real demo bot: the first message after a long idle is lost.

The emulator's ``stale_after_idle`` fault, in compressed time (IDLE seconds instead of 8 hours):
webex_bot 1.0.8 + websockets 11.0.3 loses the first message after idling and answers the second;
a bot restarted within the idle time loses nothing; the User-Agent regex picks which clients the
fault hits, so two version pairs side by side behave differently after the same idle.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from lab_support import (
    BOT_READY_TIMEOUT,
    NEW,
    OLD,
    READY_LINE,
    REPLY_TIMEOUT,
    BotProcess,
    DemoVenv,
    Emulator,
    VersionPair,
    echo_round_trip,
    wait_authorized,
    wait_for,
)

pytestmark = pytest.mark.slow

StartBot = Callable[..., BotProcess]
GetVenv = Callable[[VersionPair], DemoVenv]
IDLE = 6.0
# webex_bot replaces the websockets library's User-Agent with its own, which names webex_bot's
# version, not websockets'; 1.0.x pins websockets 11.0.3, so this selects the websockets-11 bots.
OLD_CLIENTS = r"^webex_bot/1\.0\."


def stale_after_idle(user_agent: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"mode": "stale_after_idle", "seconds": IDLE}
    if user_agent is not None:
        spec["user_agent"] = user_agent
    return spec


def only_connection(emulator: Emulator, name: str = "barnacles") -> dict[str, Any]:
    connections = emulator.connections(name)
    assert len(connections) == 1, connections
    return connections[0]


def wait_stale(emulator: Emulator, name: str = "barnacles") -> dict[str, Any]:
    """The idle itself: poll the emulator until it judges the bot's websocket stale."""
    return wait_for(
        lambda: next((c for c in emulator.connections(name) if c["stale"]), None),
        IDLE + 5.0,
        0.25,
        f"{name}'s websocket to go stale",
    )


def reply_text(emulator: Emulator, sent: dict[str, Any], name: str = "barnacles") -> str:
    reply = wait_for(lambda: emulator.reply_to(sent, bot=name), REPLY_TIMEOUT, 0.2, f"{name}'s reply")
    return reply["text"]


def test_webex_bot_108_loses_the_first_message_after_idle_and_answers_the_second(
    demo_venv: GetVenv, emulator: Emulator, start_bot: StartBot
) -> None:
    assert emulator.admin("POST", "faults/barnacles", stale_after_idle()).status == 200
    bot = start_bot(demo_venv(OLD), emulator)
    bot.wait_for_line(READY_LINE, BOT_READY_TIMEOUT)
    wait_authorized(emulator)
    echo_round_trip(emulator, bot)  # healthy, and the idle now counts from this delivery

    idle = wait_stale(emulator)
    # Nothing looks wrong: same process, same websocket, the server's pings answered.
    assert bot.alive()
    assert idle["authorized"]
    assert idle["pongs_received"] >= 1

    first = emulator.send("probe", "echo first after idle")
    wait_for(
        lambda: emulator.events("barnacles")["deliveries"][-1]["state"] == "stale",
        REPLY_TIMEOUT,
        what="the first message to be swallowed",
    )
    # The server closed the stale websocket; webex_bot reconnects on its own.
    bot.wait_for_line(READY_LINE, BOT_READY_TIMEOUT, times=2)
    wait_authorized(emulator, connects=2)
    reconnected = only_connection(emulator)
    assert reconnected["id"] != idle["id"]
    assert not reconnected["stale"]

    second = emulator.send("probe", "echo second")
    assert reply_text(emulator, second) == "second"
    assert emulator.reply_to(first) is None, "a swallowed activity never reached the bot"
    events = emulator.events("barnacles")
    assert [d["state"] for d in events["deliveries"]] == ["delivered", "stale", "delivered"]
    assert [d["acked"] for d in events["deliveries"]] == [True, False, True]
    assert (events["connects"], events["disconnects"], events["stale_closes"]) == (2, 1, 1)
    assert bot.alive()


def test_a_bot_restarted_within_the_idle_time_answers_the_first_message(
    demo_venv: GetVenv, emulator: Emulator, start_bot: StartBot
) -> None:
    """The proactive restart (RuntimeMaxSec, a watchdog): each connection is younger than IDLE,
    although the message comes more than IDLE after the first one opened."""
    assert emulator.admin("POST", "faults/barnacles", stale_after_idle()).status == 200
    venv = demo_venv(OLD)
    bot = start_bot(venv, emulator)
    bot.wait_for_line(READY_LINE, BOT_READY_TIMEOUT)
    wait_authorized(emulator)
    first_opened = time.monotonic()
    before = only_connection(emulator)

    time.sleep(IDLE / 2)
    assert not only_connection(emulator)["stale"]
    assert bot.stop() == 0
    wait_for(
        lambda: emulator.events("barnacles")["disconnects"] == 1, BOT_READY_TIMEOUT, what="the old websocket to close"
    )
    restarted = start_bot(venv, emulator)
    restarted.wait_for_line(READY_LINE, BOT_READY_TIMEOUT)
    wait_authorized(emulator, connects=2)
    # Past the point where the first connection would have been stale; the new one opened at
    # least IDLE / 2 later, so it has idled at most IDLE / 2 + 1 s.
    time.sleep(max(0.0, first_opened + IDLE + 1.0 - time.monotonic()))
    after = only_connection(emulator)
    assert after["id"] != before["id"]
    assert not after["stale"]

    sent = emulator.send("probe", "echo first after restart")
    assert reply_text(emulator, sent) == "first after restart"
    events = emulator.events("barnacles")
    assert [d["state"] for d in events["deliveries"]] == ["delivered"]
    assert events["stale_closes"] == 0


def test_the_user_agent_regex_selects_old_clients_and_spares_new_ones(
    demo_venv: GetVenv, emulator: Emulator, start_bot: StartBot
) -> None:
    """One fault spec on two bots in one emulator: after the same idle, the 1.0.8 + 11.0.3 bot
    loses its first message and the 1.3.1 + 16.1 bot answers it."""
    for name in ("barnacles", "toodles"):
        assert emulator.admin("POST", f"faults/{name}", stale_after_idle(OLD_CLIENTS)).status == 200
    # The new bot connects first: when the old one's websocket goes stale, the new one's has idled longer.
    new_bot = start_bot(demo_venv(NEW), emulator, name="toodles")
    new_bot.wait_for_line(READY_LINE, BOT_READY_TIMEOUT)
    wait_authorized(emulator, name="toodles")
    old_bot = start_bot(demo_venv(OLD), emulator)
    old_bot.wait_for_line(READY_LINE, BOT_READY_TIMEOUT)
    wait_authorized(emulator)

    old_connection = wait_stale(emulator)
    new_connection = only_connection(emulator, "toodles")
    assert not new_connection["stale"]
    assert re.search(OLD_CLIENTS, old_connection["user_agent"])
    assert not re.search(OLD_CLIENTS, new_connection["user_agent"])
    # Why the regex names webex_bot: the handshake carries no websockets version to match.
    assert "websockets/" not in old_connection["user_agent"] + new_connection["user_agent"]

    to_old = emulator.send("probe", "echo old after idle", to="barnacles")
    to_new = emulator.send("probe", "echo new after idle", to="toodles")
    assert reply_text(emulator, to_new, "toodles") == "new after idle"
    wait_for(
        lambda: emulator.events("barnacles")["deliveries"][-1]["state"] == "stale",
        REPLY_TIMEOUT,
        what="the old bot's first message to be swallowed",
    )
    assert emulator.reply_to(to_old) is None
    assert [d["state"] for d in emulator.events("toodles")["deliveries"]] == ["delivered"]
    assert only_connection(emulator, "toodles")["id"] == new_connection["id"]
    assert emulator.events("barnacles")["stale_closes"] == 1
