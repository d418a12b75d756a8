"""Start the demo bot: read the environment, optionally point webex_bot at the emulator, run."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from datetime import datetime, timezone
from types import FrameType
from typing import TYPE_CHECKING

from . import __version__, logs
from .config import ConfigError, Settings, from_env

if TYPE_CHECKING:
    from webex_bot.webex_bot import WebexBot

log = logging.getLogger("botfleet_demo_bot")


def _stop(signum: int, _frame: FrameType | None) -> None:
    # Unwinds webex_bot's run loop in the main thread so the process exits 0 on systemctl stop.
    raise SystemExit(0)


def crash_after(seconds: float) -> threading.Timer:
    """The lab's crash-loop fault: exit 1 after ``seconds``, whatever the bot is doing."""

    def crash() -> None:
        log.error("exiting 1 after %gs: BOTFLEET_DEMO_EXIT_AFTER is set (a lab fault)", seconds)
        logging.shutdown()
        os._exit(1)

    timer = threading.Timer(seconds, crash)
    timer.daemon = True
    timer.start()
    return timer


def build_bot(settings: Settings, started: datetime) -> WebexBot:
    """Construct the bot; webex_bot registers its device and calls people/me here."""
    if settings.webex_base is not None:
        from .emulator import drop_proxy_environment, point_webex_bot_at

        removed = drop_proxy_environment()
        if removed:
            log.info("ignoring proxy variables for the emulator: %s", ", ".join(removed))
        point_webex_bot_at(settings.webex_base)
        log.info("using Webex emulator at %s", settings.webex_base)

    from webex_bot.webex_bot import WebexBot

    from .commands import EchoCommand, StatusCommand

    bot = WebexBot(
        teams_bot_token=settings.token,
        bot_name=settings.bot_name,
        approved_users=list(settings.approved_users),
        approved_domains=list(settings.approved_domains),
        approved_rooms=list(settings.approved_rooms),
        log_level=settings.log_level,
    )
    # webex_bot matches keywords as substrings; "echo need help" must not open the help card.
    bot.help_command.exact_command_keyword_match = True
    bot.add_command(StatusCommand(settings.bot_name, started))
    bot.add_command(EchoCommand())
    return bot


def main() -> int:
    started = datetime.now(timezone.utc)  # noqa: UP017 (datetime.UTC is 3.11+; the bot supports 3.10)
    try:
        settings = from_env()
    except ConfigError as exc:
        print(f"botfleet-demo-bot: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    logs.redact_everywhere(settings.token)
    logs.watch_connection(settings.bot_name)
    signal.signal(signal.SIGTERM, _stop)
    log.info("botfleet-demo-bot %s starting as %s", __version__, settings.bot_name)
    if settings.exit_after:
        crash_after(settings.exit_after)
    try:
        bot = build_bot(settings, started)
        bot.run()
    except (KeyboardInterrupt, SystemExit):
        log.info("%s stopping", settings.bot_name)
        return 0
    except Exception as exc:
        # systemd restarts the unit; the journal gets one line that says why, without the token.
        log.error("%s stopped: %s: %s", settings.bot_name, type(exc).__name__, exc)
        return 1
    return 0
