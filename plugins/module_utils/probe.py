# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe protocol of webex_probe and the watchdog: send the bot a real message as the probe
identity and wait for the bot's own reply. A new check of the reply belongs in ``Probe._run``; what
counts as a reply is ``answers``.

Standard library only; the HTTP side is module_utils/webex_client.py.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import re
import time

from ansible_collections.botfleet.deploy.plugins.module_utils.notify import describe_target
from ansible_collections.botfleet.deploy.plugins.module_utils.webex_client import (
    TARGETS,
    WebexError,
    client_from_params,
    quote,
)

FIRST_POLL_DELAY = 0.25


def parse_time(value):
    """A Webex timestamp (``2024-01-01T00:00:00.000Z``) in seconds since the epoch; None when unreadable."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z", value) if isinstance(value, str) else None
    if match is None:
        return None
    return calendar.timegm(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")) + float(match.group(2) or 0)


def same_id(first, second):
    """Whether two Webex ids name the same resource.

    REST ids are base64 of ``ciscospark://us/<KIND>/<uuid>``; webex_bot threads its replies with the
    bare UUID of the message it answers, so both forms are compared by their UUID.
    """
    if not first or not second:
        return False
    return first == second or _uuid_part(first) == _uuid_part(second)


def _uuid_part(rest_id):
    try:
        raw = base64.urlsafe_b64decode(rest_id + "=" * (-len(rest_id) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return rest_id.lower()
    return raw.rsplit("/", 1)[-1].lower() if raw.startswith("ciscospark://") else rest_id.lower()


class Probe:
    """Send ``text`` to the bot as the probe identity and wait for the bot's reply matching ``expect``.

    A reply is a message of the bot in the probe's room that answers the probe message: threaded
    under it (webex_bot sets ``parentId`` to the message it answers), or not threaded and created
    after it. A reply threaded under another message answers someone else.
    """

    def __init__(self, params, clock=time.monotonic, sleep=time.sleep):
        self.params = params
        self._clock = clock
        self._sleep = sleep
        targets = [name for name in TARGETS if params.get(name)]
        if len(targets) != 1:
            raise WebexError(f"give exactly one of {', '.join(TARGETS)}")
        self.bot_email = params.get("bot_email") or params.get("to_person_email")
        self.bot_id = params.get("bot_id") or params.get("to_person_id")
        if not (self.bot_email or self.bot_id):
            raise WebexError("with room_id, give bot_email or bot_id: the probe must know whose reply to wait for")
        try:
            self.expect = re.compile(params["expect"])
        except re.error as exc:
            raise WebexError(f"expect: '{params['expect']}' is not a valid regular expression: {exc}") from None
        if not (params["text"] or "").strip():
            raise WebexError("text is empty; give the message the bot answers, such as 'status'")
        if params["timeout"] <= 0:
            raise WebexError(f"timeout must be a positive number of seconds, not {params['timeout']}")
        if params["interval"] <= 0:
            raise WebexError(f"interval must be a positive number of seconds, not {params['interval']}")
        self.client = client_from_params(params, "the probe token", clock=clock, sleep=sleep)
        self.report = {
            "room_id": None,
            "sent_message_id": None,
            "reply_message_id": None,
            "reply_text": None,
            "latency": None,
            "reply_delay": None,
            "attempts": 0,
        }

    @property
    def bot(self):
        return self.bot_email or self.bot_id

    def describe(self):
        """What the probe does, in words (check mode says this instead of doing it)."""
        where = f"in {describe_target(self.params)}" if self.params.get("room_id") else "directly"
        return (
            f"send '{self.params['text']}' to bot {self.bot} {where} and wait up to {self.params['timeout']}s "
            f"for a reply matching '{self.params['expect']}'"
        )

    def run(self):
        """Probe; return the report, or raise WebexError (timeout, refused token, unreachable API).

        The report (also ``self.report`` after a failure) quotes the bot and Webex, so it is scrubbed.
        """
        try:
            self._run()
        finally:
            self.report = self.client.scrub(self.report)
        return dict(self.report)

    def _run(self):
        params = self.params
        started = self._clock()
        self.client.deadline = started + params["timeout"]
        sent = self._send()
        report = self.report
        report.update(sent_message_id=sent.get("id"), room_id=sent.get("roomId"))
        sent_at = parse_time(sent.get("created"))
        last = None
        delay = min(FIRST_POLL_DELAY, params["interval"])
        while True:
            self._sleep(max(0.0, min(delay, self.client.remaining())))
            delay = min(delay * 2, params["interval"])
            report["attempts"] += 1
            messages = self.client.list_messages(report["room_id"])
            replies = [m for m in messages if answers(m, sent, self.bot_email, self.bot_id)]
            matching = [m for m in replies if self.expect.search(_text_of(m))]
            if matching:
                reply = matching[-1]  # newest first: the last is the first answer
                report.update(
                    latency=round(self._clock() - started, 3),
                    reply_text=_text_of(reply),
                    reply_message_id=reply.get("id"),
                    reply_delay=_seconds_between(sent_at, parse_time(reply.get("created"))),
                )
                return
            last = replies[0] if replies else last
            if self.client.remaining() <= 0:
                raise WebexError(self.client.scrub(self._timeout_message(last, messages)))

    def _send(self):
        params = self.params
        if not params.get("room_id"):
            return self.client.send_message(
                to_person_email=params.get("to_person_email"),
                to_person_id=params.get("to_person_id"),
                text=params["text"],
            )
        if not params["mention"]:
            return self.client.send_message(room_id=params["room_id"], text=params["text"])
        # In a group room Webex delivers to a bot only the messages that mention it. The mention shows
        # the bot's display name, the name webex_bot means to remove from a group-room command.
        bot = self.client.person(email=self.bot_email, person_id=None if self.bot_email else self.bot_id)
        self.bot_id = self.bot_id or bot.get("id")
        self.bot_email = self.bot_email or (bot.get("emails") or [None])[0]
        name = (bot.get("displayName") or self.bot).replace("|", " ").replace(">", " ")
        if self.bot_email:
            mention = f"<@personEmail:{self.bot_email}|{name}>"
        else:
            mention = f"<@personId:{self.bot_id}|{name}>"
        return self.client.send_message(room_id=params["room_id"], markdown=f"{mention} {params['text']}")

    def _timeout_message(self, last, messages):
        text = f"no reply from bot {self.bot} matching '{self.params['expect']}' within {self.params['timeout']}s; "
        if last is not None:
            return text + f"last reply seen: {self._quote(last)}"
        earlier = [m for m in messages if authored_by(m, self.bot_email, self.bot_id)]
        if earlier:
            return text + (
                f"last reply seen: none since the probe was sent (the bot's last message in the room is from "
                f"{earlier[0].get('created')}: {self._quote(earlier[0])})"
            )
        return text + "last reply seen: none (the bot has never written in this room)"

    def _quote(self, message):
        """A message's text for the timeout message, scrubbed before it is cut."""
        return quote(self.client.scrub(_text_of(message)))


def authored_by(message, bot_email=None, bot_id=None):
    """Whether the bot (known by email, id or both) wrote ``message``."""
    if bot_id and same_id(message.get("personId"), bot_id):
        return True
    email = message.get("personEmail")
    return bool(bot_email and email and email.lower() == bot_email.lower())


def answers(message, sent, bot_email=None, bot_id=None):
    """Whether ``message`` is the bot's answer to the probe message ``sent``: written by the bot, and
    threaded under ``sent``, or not threaded and created after it."""
    if same_id(message.get("id"), sent.get("id")) or not authored_by(message, bot_email, bot_id):
        return False
    parent = message.get("parentId")
    if parent:
        return same_id(parent, sent.get("id"))
    created, sent_at = parse_time(message.get("created")), parse_time(sent.get("created"))
    return bool(created and sent_at and created > sent_at)


def _text_of(message):
    return message.get("text") or message.get("markdown") or ""


def _seconds_between(first, second):
    if first is None or second is None:
        return None
    return round(second - first, 3)
