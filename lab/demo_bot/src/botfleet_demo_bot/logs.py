"""Logging for journald: plain lines on stderr, a clear ready line, and no token, ever.

webex_bot logs its own progress; two of its lines matter to an operator and get a line of ours
that a health check can match without knowing webex_bot's wording:

- ``WebSocket Opened.``  -> ``<bot> connected: websocket open, listening for messages``
- ``runException: ...``  -> ``<bot> websocket connect failed: <reason>``

After a failed connect webex_bot registers a new device and retries in 5 s; if that registration
fails too (Webex unreachable), it raises and the process exits 1, for systemd to restart.
"""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"
CLIENT_LOGGER = "webex_bot.websockets.webex_websocket_client"
READY_TEXT = "connected: websocket open, listening for messages"
REDACTED = "[REDACTED]"

log = logging.getLogger("botfleet_demo_bot")


def configure(level: str) -> None:
    logging.basicConfig(stream=sys.stderr, level=level, format=FORMAT)


def redact_everywhere(secret: str) -> None:
    """Replace ``secret`` in every log record created from now on, whichever library logs it.

    A record factory, not a handler filter: webex_bot reinstalls the root handler (coloredlogs)
    when it is constructed, which would drop a filter attached to the old handler.
    """
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is the logging module's business, not ours
            return record
        if secret in text:
            record.msg = text.replace(secret, REDACTED)
            record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info).replace(secret, REDACTED)
        return record

    logging.setLogRecordFactory(factory)


class _ConnectionWatch(logging.Handler):
    """Turns webex_bot's websocket client lines into the demo bot's operator lines."""

    def __init__(self, bot_name: str) -> None:
        super().__init__(level=logging.INFO)
        self.bot_name = bot_name

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if text.startswith("WebSocket Opened"):
            log.info("%s %s", self.bot_name, READY_TEXT)
        elif text.startswith("runException:"):
            reason = text.partition(":")[2].strip()
            log.error("%s websocket connect failed: %s", self.bot_name, reason)


def watch_connection(bot_name: str) -> None:
    client_logger = logging.getLogger(CLIENT_LOGGER)
    # The lines watched are INFO/ERROR; keep them flowing even if LOG_LEVEL hides INFO on stderr.
    if client_logger.getEffectiveLevel() > logging.INFO:
        client_logger.setLevel(logging.INFO)
    client_logger.addHandler(_ConnectionWatch(bot_name))
