"""The real demo bot (real webex_bot, real websockets) against the emulator, per version pair.

These are the lab's claims about the incident, checked end to end: the old and new pins answer;
webex_bot 1.0.x forced onto websockets 14 stays up and answers nobody; a blackholed connection
keeps pinging while messages vanish, and a reconnect cures it.
"""

from __future__ import annotations

import subprocess
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from lab_support import (
    BOT_READY_TIMEOUT,
    CONNECT_FAILED_LINE,
    FORCED,
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

StartBot = Callable[[DemoVenv, Emulator], BotProcess]
GetVenv = Callable[[VersionPair], DemoVenv]
# How long an unanswered message is given before the test calls it unanswered; a healthy bot
# answers on loopback in well under a second.
SILENCE = 5.0


def assert_unanswered(emulator: Emulator, sent: dict, bot: BotProcess) -> None:
    deadline = time.monotonic() + SILENCE
    while time.monotonic() < deadline:
        assert emulator.reply_to(sent) is None, f"unexpected reply\n{bot.log()}"
        time.sleep(0.25)


def test_wheel_holds_the_package_and_the_console_script(demo_wheel: Path) -> None:
    with zipfile.ZipFile(demo_wheel) as wheel:
        names = set(wheel.namelist())
        entry_points = wheel.read("botfleet_demo_bot-0.1.2.dist-info/entry_points.txt").decode()
        metadata = wheel.read("botfleet_demo_bot-0.1.2.dist-info/METADATA").decode()
    assert "botfleet_demo_bot/cli.py" in names
    assert "botfleet-demo-bot = botfleet_demo_bot.cli:main" in entry_points
    assert "Requires-Dist: webex_bot>=1.0.5" in metadata


def test_import_starts_nothing(demo_venv: GetVenv) -> None:
    venv = demo_venv(NEW)
    script = "import sys, botfleet_demo_bot; print(botfleet_demo_bot.__version__, 'webex_bot' in sys.modules)"
    result = subprocess.run(
        [str(venv.python), "-c", script], check=False, capture_output=True, text=True, timeout=30, env={}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0.1.2", "False"]


def test_missing_token_is_refused_with_a_clear_message(demo_venv: GetVenv) -> None:
    venv = demo_venv(NEW)
    result = subprocess.run(
        [str(venv.path / "bin" / "botfleet-demo-bot")], check=False, capture_output=True, text=True, timeout=30, env={}
    )
    assert result.returncode == 2
    assert "WEBEX_BOT_TOKEN is not set" in result.stderr


@pytest.mark.parametrize("pair", [OLD, NEW], ids=lambda p: p.key)
def test_round_trip(pair: VersionPair, demo_venv: GetVenv, emulator: Emulator, start_bot: StartBot) -> None:
    venv = demo_venv(pair)
    bot = start_bot(venv, emulator)
    bot.wait_for_line(READY_LINE, BOT_READY_TIMEOUT)
    wait_authorized(emulator)

    echo_round_trip(emulator, bot)
    sent = emulator.send("probe", "status")
    status = wait_for(lambda: emulator.reply_to(sent), REPLY_TIMEOUT, 0.2, "the reply to 'status'")["text"]
    assert status.startswith("barnacles status: python=3.11.")
    assert f"webex_bot={pair.webex_bot} websockets={pair.websockets} " in status
    assert f"venv={venv.path}" in status

    events = emulator.events("barnacles")
    assert [d["state"] for d in events["deliveries"]] == ["delivered", "delivered"]
    assert all(d["acked"] for d in events["deliveries"]), events
    assert bot.stop() == 0
    assert bot.token not in bot.log()


def test_status_tells_what_the_process_loaded_after_current_is_switched(
    demo_venv: GetVenv, emulator: Emulator, start_bot: StartBot, tmp_path: Path
) -> None:
    """A release switch without a restart must not change what ``status`` claims: the process
    still runs the code it imported (benchmarks and operators read versions from this reply)."""
    old, new = demo_venv(OLD), demo_venv(NEW)
    current = tmp_path / "current"
    current.symlink_to(new.path)
    bot = start_bot(DemoVenv(current, NEW, None), emulator)
    bot.wait_for_line(READY_LINE, BOT_READY_TIMEOUT)
    wait_authorized(emulator)

    switching = tmp_path / "current.next"
    switching.symlink_to(old.path)
    switching.replace(current)  # what release state=active does
    sent = emulator.send("probe", "status")
    status = wait_for(lambda: emulator.reply_to(sent), REPLY_TIMEOUT, 0.2, "the reply to 'status'")["text"]
    assert f"webex_bot={NEW.webex_bot} websockets={NEW.websockets} " in status
    assert f"venv={current}" in status


def test_webex_bot_108_forced_onto_websockets_14_stays_up_and_answers_nobody(
    demo_venv: GetVenv, emulator: Emulator, start_bot: StartBot
) -> None:
    bot = start_bot(demo_venv(FORCED), emulator)
    # webex_bot retries every 5 s: two failures prove it is a loop, not a one-off.
    bot.wait_for_line(CONNECT_FAILED_LINE, 20.0, times=2)
    assert "unexpected keyword argument 'extra_headers'" in bot.log()
    sent = emulator.send("probe", "echo anyone?")
    assert_unanswered(emulator, sent, bot)

    assert bot.alive(), "the process must stay up: that is what fools a process-level health check"
    assert READY_LINE not in bot.log()
    events = emulator.events("barnacles")
    assert events["registrations"] >= 2
    assert events["connects"] == 0
    assert [d["state"] for d in events["deliveries"]] == ["no_connection"]
    assert bot.token not in bot.log()


@pytest.mark.parametrize("pair", [OLD, NEW], ids=lambda p: p.key)
def test_blackhole_silences_a_connected_bot_until_a_reconnect(
    pair: VersionPair, demo_venv: GetVenv, emulator: Emulator, start_bot: StartBot
) -> None:
    bot = start_bot(demo_venv(pair), emulator)
    bot.wait_for_line(READY_LINE, BOT_READY_TIMEOUT)
    wait_authorized(emulator)
    echo_round_trip(emulator, bot)

    assert emulator.admin("POST", "faults/barnacles", {"mode": "blackhole"}).status == 200
    before = emulator.connections("barnacles")
    assert len(before) == 1
    lost = emulator.send("probe", "echo are you there?")
    assert_unanswered(emulator, lost, bot)

    # The incident's signature: process up, the same websocket open, pings answered.
    assert bot.alive()
    after = emulator.connections("barnacles")
    assert [c["id"] for c in after] == [before[0]["id"]]
    assert after[0]["authorized"]
    assert after[0]["pongs_received"] > before[0]["pongs_received"]
    assert emulator.events("barnacles")["deliveries"][-1]["state"] == "blackholed"

    assert emulator.admin("DELETE", "faults/barnacles").status == 200
    connects = emulator.events("barnacles")["connects"]
    assert emulator.admin("POST", "faults/barnacles", {"mode": "drop"}).body["dropped"] == 1
    bot.wait_for_line(READY_LINE, BOT_READY_TIMEOUT, times=2)
    wait_authorized(emulator, connects=2)
    assert emulator.events("barnacles")["connects"] == connects + 1
    echo_round_trip(emulator, bot)
    # The message sent into the blackhole stays lost: webex_bot has no catch-up.
    assert emulator.reply_to(lost) is None


def test_exit_after_makes_a_connected_bot_exit_1(demo_venv: GetVenv, emulator: Emulator, start_bot: StartBot) -> None:
    """The lab's crash-loop fault: the bot connects (it would pass a gate), then exits 1 by itself."""
    bot = start_bot(demo_venv(NEW), emulator, extra_env={"BOTFLEET_DEMO_EXIT_AFTER": "4"})
    bot.wait_for_line(READY_LINE, BOT_READY_TIMEOUT)
    assert bot.alive()
    wait_for(lambda: not bot.alive(), 20, 0.2, "the bot to exit by itself")
    assert bot.stop() == 1
    assert "exiting 1 after 4s: BOTFLEET_DEMO_EXIT_AFTER is set" in bot.log()


@pytest.mark.parametrize("value", ["0", "-3", "soon"])
def test_exit_after_must_be_a_positive_number(demo_venv: GetVenv, value: str) -> None:
    venv = demo_venv(NEW)
    env = {"WEBEX_BOT_TOKEN": "t" * 20, "BOTFLEET_DEMO_EXIT_AFTER": value}
    result = subprocess.run(
        [str(venv.path / "bin" / "botfleet-demo-bot")], check=False, capture_output=True, text=True, timeout=30, env=env
    )
    assert result.returncode == 2
    assert "BOTFLEET_DEMO_EXIT_AFTER must be a number of seconds > 0" in result.stderr
