"""The watchdog (module_utils/watchdog.py) against the Webex emulator and the real demo bot.

- the story's ``stale_after_idle`` with a watchdog interval below its T: the watchdog's probe keeps
  the websocket from going stale, so a user's message after a long idle is answered, by a bot on the
  old pins that loses it without the watchdog (test_lab_stale_after_idle.py);
- a bot deaf until it reconnects (the emulator's blackhole ``until_reconnect``): the watchdog restarts
  it after two failed probes and it answers again.

The watchdog runs in this process with its real probe; only systemctl is replaced by starting and
stopping the bot's process.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lab_support import (
    BOT_READY_TIMEOUT,
    EMAILS,
    OLD,
    READY_LINE,
    REPLY_TIMEOUT,
    TOKENS,
    BotProcess,
    DemoVenv,
    Emulator,
    VersionPair,
    wait_authorized,
    wait_for,
)

from ansible_collections.botfleet.deploy.plugins.module_utils.watchdog import Watchdog, check_config

pytestmark = pytest.mark.slow

StartBot = Callable[..., BotProcess]
GetVenv = Callable[[VersionPair], DemoVenv]
IDLE = 6.0
OLD_CLIENTS = r"^webex_bot/1\.0\."


def watchdog_config(tmp_path: Path, emulator: Emulator, **settings: Any) -> dict[str, Any]:
    """A watchdog over barnacles, whose state directory is empty but for a state.json."""
    (tmp_path / "state" / "barnacles").mkdir(parents=True)
    (tmp_path / "state" / "barnacles" / "state.json").write_text(json.dumps({"bot": "barnacles", "history": []}))
    probe = {
        "base_url": emulator.base + "/v1/",
        "to_person_email": EMAILS["barnacles"],
        "text": "status",
        "expect": "^barnacles status: ",
        "timeout": 4,
        "interval": 0.2,
    }
    config = {
        "bots": [{"bot": "barnacles", "unit": "botfleet-barnacles.service", "probe": probe}],
        "root": str(tmp_path / "opt"),
        "state_dir": str(tmp_path / "state"),
        "textfile_dir": str(tmp_path / "textfile"),
        **settings,
    }
    return check_config(config)


class BotUnit:
    """systemctl for a bot that is a process of this test: restart stops it and starts a new one."""

    def __init__(self, start: Callable[[], BotProcess], emulator: Emulator) -> None:
        self.start, self.emulator = start, emulator
        self.bot = start()
        self.restarts = 0

    def show(self, unit: str, props: list[str]) -> dict[str, str]:
        return {"ActiveState": "active" if self.bot.alive() else "failed", "NRestarts": "0"}

    def restart(self, unit: str) -> None:
        self.bot.stop()
        self.restarts += 1
        self.bot = self.start()
        self.bot.wait_for_line(READY_LINE, BOT_READY_TIMEOUT)
        wait_authorized(self.emulator, connects=self.restarts + 1)
        return None


def run_every(interval: float, watchdog: Callable[[], Watchdog], stop: threading.Event, runs: list[Any]) -> None:
    while not stop.wait(interval):
        runs.append(watchdog().run())


def user_sends(emulator: Emulator, text: str) -> dict[str, Any]:
    reply = emulator.call(
        "POST", "/v1/messages", as_="alice", body={"toPersonEmail": EMAILS["barnacles"], "text": text}
    )
    assert reply.status == 200, reply.body
    return reply.body


def reply_of(emulator: Emulator, sent: dict[str, Any]) -> dict[str, Any] | None:
    for message in emulator.messages("alice", sent["roomId"]):
        if message["personEmail"] == EMAILS["barnacles"] and message.get("parentId") == sent["id"]:
            return message
    return None


def test_a_watchdog_interval_below_the_idle_keeps_a_bot_on_the_old_pins_from_losing_a_message(
    tmp_path: Path, demo_venv: GetVenv, emulator: Emulator, start_bot: StartBot
) -> None:
    stale = {"mode": "stale_after_idle", "seconds": IDLE, "user_agent": OLD_CLIENTS}
    assert emulator.admin("POST", "faults/barnacles", stale).status == 200
    unit = BotUnit(lambda: start_bot(demo_venv(OLD), emulator), emulator)
    unit.bot.wait_for_line(READY_LINE, BOT_READY_TIMEOUT)
    wait_authorized(emulator)
    config = watchdog_config(tmp_path, emulator)
    stop, runs = threading.Event(), []
    thread = threading.Thread(
        target=run_every,
        args=(IDLE / 2, lambda: Watchdog(config, TOKENS["probe"], systemd=unit), stop, runs),
        daemon=True,
    )
    thread.start()
    try:
        # Three times the idle without a user's message: without the watchdog the websocket went stale twice.
        time.sleep(3 * IDLE)
        sent = user_sends(emulator, "echo hello after a long idle")
        reply = wait_for(lambda: reply_of(emulator, sent), REPLY_TIMEOUT, 0.2, "the reply to the user")
    finally:
        stop.set()
        thread.join(30)
    assert reply["text"] == "hello after a long idle"
    deliveries = emulator.events("barnacles")["deliveries"]
    assert len(deliveries) >= 5, deliveries  # the watchdog's probes and the user's message
    assert [d["state"] for d in deliveries if d["state"] != "delivered"] == [], deliveries
    assert unit.restarts == 0 and emulator.events("barnacles")["stale_closes"] == 0
    watch = json.loads((tmp_path / "state" / "barnacles" / "watchdog.json").read_text())
    assert watch["last_probe"]["ok"] and watch["failures"] == 0


def test_a_bot_deaf_until_it_reconnects_is_restarted_by_the_watchdog_and_answers_again(
    tmp_path: Path, demo_venv: GetVenv, emulator: Emulator, start_bot: StartBot
) -> None:
    unit = BotUnit(lambda: start_bot(demo_venv(OLD), emulator), emulator)
    unit.bot.wait_for_line(READY_LINE, BOT_READY_TIMEOUT)
    wait_authorized(emulator)
    assert emulator.admin("POST", "faults/barnacles", {"mode": "blackhole", "until_reconnect": True}).status == 200
    config = watchdog_config(tmp_path, emulator, settle=2)
    first = Watchdog(config, TOKENS["probe"], systemd=unit)
    first.run()
    assert unit.restarts == 0 and "probe failed (1 in a row)" in first.lines[0]
    second = Watchdog(config, TOKENS["probe"], systemd=unit)
    second.run()
    assert unit.restarts == 1, second.lines
    history = json.loads((tmp_path / "state" / "barnacles" / "state.json").read_text())["history"]
    assert [(e["event"], e["action"], e["outcome"]) for e in history] == [("watchdog", "restarted", "answers")]
    states = [d["state"] for d in emulator.events("barnacles")["deliveries"]]
    assert states == ["blackholed", "blackholed", "delivered"], states
    metrics = (tmp_path / "textfile" / "botfleet_watchdog.prom").read_text()
    assert 'botfleet_watchdog_restarts_total{bot="barnacles"} 1' in metrics
    assert 'botfleet_probe_success{bot="barnacles"} 1' in metrics
