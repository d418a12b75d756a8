"""No part of a token in any error of the Webex client, against a real HTTP server on loopback that
echoes the Authorization header back in every way an answer can carry text.

Ansible's no_log masking replaces only whole values: a message that quotes a cut-off answer would
print the first part of the token. So the check here is that no substring of the token of 8
characters or more appears in what an exception carries.
"""

from __future__ import annotations

import json
import random
import string
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.botfleet.deploy.plugins.module_utils.notify import post_notification
from ansible_collections.botfleet.deploy.plugins.module_utils.probe import Probe
from ansible_collections.botfleet.deploy.plugins.module_utils.webex_client import (
    WebexClient,
    WebexError,
    quote,
    token_scrubber,
)

LONG_TOKEN = (
    "ZjQ2NTJkYTctMzc1Ni00OWE3LWJhZjktYzdhNDI5ZmRmN2Q4N2JlNWY4YzYtMDlk_PF84_1eb65fdf-9643-417f-9974-ad72cae0e10f"
)
ALPHABET = string.ascii_letters + string.digits + "-_."
PIECE = 8


def leaked_pieces(token, text):
    """Every substring of ``token`` of PIECE characters found in ``text`` (any longer leak holds one)."""
    return sorted({token[i : i + PIECE] for i in range(len(token) - PIECE + 1) if token[i : i + PIECE] in text})


def shown(exc):
    """Everything an exception carries in words: message, repr, tracking id, and what it was raised from."""
    parts = [str(getattr(exc, "tracking_id", ""))]
    while exc is not None:
        parts += [str(exc), repr(exc), *traceback.format_exception_only(type(exc), exc)]
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


@pytest.fixture
def echo_server():
    """A loopback HTTP server whose answer is ``server.answer(handler, authorization)``."""

    class Handler(BaseHTTPRequestHandler):
        def answer(self):
            self.server.answer(self, self.headers.get("Authorization", ""))

        do_GET = do_POST = answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.base = f"http://127.0.0.1:{server.server_address[1]}/v1/"
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def send(handler, status, body, content_type="text/html", reason=None, headers=(), length=None):
    body = body.encode() if isinstance(body, str) else body
    handler.send_response(status, reason)
    handler.send_header("Content-Type", content_type)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body) if length is None else length))
    handler.end_headers()
    handler.wfile.write(body)


def test_a_non_json_answer_that_echoes_the_header_leaks_no_part_of_the_token(echo_server):
    # The leak the review found: the answer is quoted cut at 80 characters, so no_log cannot mask it.
    echo_server.answer = lambda h, auth: send(h, 200, f"<html><body>You sent Authorization: {auth}</body></html>")
    with pytest.raises(WebexError) as caught:
        WebexClient(LONG_TOKEN, base_url=echo_server.base).me()
    assert leaked_pieces(LONG_TOKEN, shown(caught.value)) == []
    assert str(caught.value) == (
        f"GET {echo_server.base}people/me answered something other than JSON ('<html><body>You sent Authorization: "
        "Bearer ********</body></html>'); is base_url the Webex REST API (such as https://webexapis.com/v1/)?"
    )


# Every way an answer can carry text into an error: (name, how the server answers, token, rng).
def _non_json(h, auth, token, rng):
    send(h, 200, f"<p>proxy saw: {auth}</p>" + "x" * rng.randint(0, 300))


def _non_json_cut_by_the_server(h, auth, token, rng):
    send(h, 200, f"Authorization={auth[: rng.randint(7 + PIECE, len(auth))]}")


def _truncated_json(h, auth, token, rng):
    body = json.dumps({"message": f"header {auth}", "trackingId": "ROUTER_1"})
    send(h, 200, body[: rng.randint(20, len(body) - 2)], "application/json")


def _truncated_transfer(h, auth, token, rng):
    body = f"<p>{auth}</p>"
    send(h, 200, body, length=len(body) + rng.randint(1, 50))


def _json_error(h, auth, token, rng):
    status = rng.choice([400, 401, 403, 404, 409, 410, 415, 423])
    tracking = f"ROUTER_{token[: rng.randint(PIECE, len(token))]}"
    send(h, status, json.dumps({"message": f"bad header {auth}", "trackingId": tracking}), "application/json")


def _json_error_list(h, auth, token, rng):
    body = {"errors": [{"description": f"cannot use {token[: rng.randint(PIECE, len(token))]}"}]}
    send(h, 400, json.dumps(body), "application/json", headers=[("trackingid", f"T_{token}")])


def _transient(h, auth, token, rng):
    status = rng.choice([429, 500, 502, 503, 504])
    echoed = auth[: rng.randint(PIECE + 7, len(auth))]
    body = json.dumps({"message": f"busy; you sent {echoed}"})
    send(h, status, body, "application/json", headers=[("Retry-After", "0")])


def _error_status_with_body_and_reason(h, auth, token, rng):
    send(h, rng.choice([400, 418, 451, 500]), f"echo {auth}", reason=f"Bad {auth[: rng.randint(PIECE + 7, len(auth))]}")


def _redirect(h, auth, token, rng):
    location = f"http://127.0.0.1:9/people?t={token[: rng.randint(PIECE, len(token))]}"
    send(h, rng.choice([301, 302, 307, 308]), "", headers=[("Location", location)])


def _garbage_status_line(h, auth, token, rng):
    h.wfile.write(f"{auth}\r\n\r\n".encode())


ANSWERS = [
    _non_json,
    _non_json_cut_by_the_server,
    _truncated_json,
    _truncated_transfer,
    _json_error,
    _json_error_list,
    _transient,
    _error_status_with_body_and_reason,
    _redirect,
    _garbage_status_line,
]


def random_token(rng):
    token = "".join(rng.choices(ALPHABET, k=rng.randint(20, 200)))
    if rng.random() < 0.1:  # a periodic token stresses overlapping matches
        token = (token[: rng.randint(2, 9)] * 100)[: len(token)]
    return token


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda a: a.__name__.strip("_"))
def test_fuzz_no_part_of_a_random_token_in_any_error(echo_server, answer):
    rng = random.Random(f"botfleet-scrub-{answer.__name__}")  # noqa: S311 - seeded on purpose: reproducible
    for _round in range(40):
        token = random_token(rng)
        echo_server.answer = lambda h, auth, token=token: answer(h, auth, token, rng)
        client = WebexClient(token, base_url=echo_server.base, max_retries=0, request_timeout=5)
        with pytest.raises(WebexError) as caught:
            client.me()
        assert leaked_pieces(token, shown(caught.value)) == [], (token, str(caught.value))


@pytest.mark.parametrize("limit", [10, 40, 80, 200])
def test_fuzz_the_pure_quote_of_a_scrubbed_text(limit):
    rng = random.Random(limit)  # noqa: S311 - seeded on purpose: reproducible
    for _round in range(500):
        token = random_token(rng)
        text = f"Authorization: Bearer {token[: rng.randint(PIECE, len(token))]} and {token[: rng.randint(PIECE, 20)]}"
        assert leaked_pieces(token, quote(token_scrubber({"token": token})(text), limit)) == []


def _probe_answers(echoed_reply):
    """A tiny Webex: the probe message is accepted; the bot's reply echoes ``echoed_reply(auth)``."""

    def answer(h, auth):
        if h.command == "POST":
            sent = {"id": "sent-1", "roomId": "room-1", "created": "2026-01-01T10:00:00.000Z"}
            send(h, 200, json.dumps(sent), "application/json")
            return
        reply = {
            "id": "reply-1",
            "roomId": "room-1",
            "personEmail": "barnacles@webex.bot",
            "parentId": "sent-1",
            "created": "2026-01-01T10:00:01.000Z",
            "text": echoed_reply(auth),
        }
        send(h, 200, json.dumps({"items": [reply]}), "application/json")

    return answer


def probe_params(base, **overrides):
    params = {
        "token": LONG_TOKEN,
        "base_url": base,
        "request_timeout": 5.0,
        "max_retries": 0,
        "validate_certs": True,
        "ca_path": None,
        "use_proxy": False,
        "allow_insecure_http": False,
        "room_id": None,
        "to_person_email": "barnacles@webex.bot",
        "to_person_id": None,
        "bot_email": None,
        "bot_id": None,
        "mention": True,
        "text": "status",
        "expect": "^barnacles status",
        "timeout": 1,
        "interval": 0.2,
    }
    params.update(overrides)
    return params


def test_a_probe_that_times_out_on_an_echoing_reply_leaks_nothing(echo_server):
    echo_server.answer = _probe_answers(lambda auth: f"I got {auth[:70]}")
    probe = Probe(probe_params(echo_server.base))
    with pytest.raises(WebexError, match=r"no reply from bot barnacles@webex\.bot matching") as caught:
        probe.run()
    assert leaked_pieces(LONG_TOKEN, shown(caught.value)) == []
    assert leaked_pieces(LONG_TOKEN, json.dumps(probe.report)) == []
    assert probe.report["reply_text"] is None


def test_a_probe_report_is_scrubbed(echo_server):
    echo_server.answer = _probe_answers(lambda auth: f"barnacles status: header={auth}")
    report = Probe(probe_params(echo_server.base)).run()
    assert report["reply_text"] == "barnacles status: header=Bearer ********"
    assert leaked_pieces(LONG_TOKEN, json.dumps(report)) == []


# A notification quotes a failure; the room must not get part of a secret, nor an error quote one back.
def _echo_the_posted_text(h, auth, token, rng):
    body = h.rfile.read(int(h.headers.get("Content-Length") or 0)).decode()
    h.server.posted.append(body)
    shape = rng.choice(["html", "json_error", "ok"])
    if shape == "html":
        send(h, 200, f"<p>you posted {body[: rng.randint(20, len(body))]}</p>")
    elif shape == "json_error":
        send(h, 400, json.dumps({"message": f"cannot post {body}", "trackingId": "ROUTER_1"}), "application/json")
    else:
        send(h, 200, json.dumps({"id": "m-1", "roomId": "room-1", "markdown": body}), "application/json")


def test_fuzz_a_notification_posts_and_quotes_no_part_of_a_redacted_secret(echo_server):
    rng = random.Random("botfleet-scrub-notify")  # noqa: S311 - seeded on purpose: reproducible
    echo_server.posted = []
    for _round in range(60):
        token, bot_token = random_token(rng), random_token(rng)
        cut = bot_token[: rng.randint(PIECE, len(bot_token))]
        params = probe_params(echo_server.base, token=token, redact=[bot_token], room_id="room-1", to_person_email=None)
        params["markdown"] = f"**canary barnacles failed**: gate: probe: answered '{cut}'"
        echo_server.answer = lambda h, auth, token=token: _echo_the_posted_text(h, auth, token, rng)
        client = WebexClient(token, base_url=echo_server.base, max_retries=0, request_timeout=5, redact=[bot_token])
        try:
            shown_text = json.dumps(post_notification(client, params))
        except WebexError as exc:
            shown_text = shown(exc)
        for secret in (token, bot_token):
            assert leaked_pieces(secret, shown_text) == [], shown_text
            assert leaked_pieces(secret, echo_server.posted[-1]) == [], echo_server.posted[-1]
        assert token_scrubber(params)(params["markdown"]).endswith("answered '********'")


@pytest.mark.parametrize(("rounds", "matches"), [(40, True), (6, False)], ids=["reply", "timeout"])
def test_fuzz_a_probe_quotes_no_part_of_a_random_token(echo_server, rounds, matches):
    # The probe's report and its timeout message quote the bot's reply, here an echo of the header cut short.
    rng = random.Random(f"botfleet-scrub-probe-{matches}")  # noqa: S311 - seeded on purpose: reproducible
    for _round in range(rounds):
        token = random_token(rng)
        prefix = "barnacles status: " if matches else "I got "
        echo_server.answer = _probe_answers(
            lambda auth, prefix=prefix: prefix + auth[: rng.randint(7 + PIECE, len(auth))]
        )
        probe = Probe(probe_params(echo_server.base, token=token))
        try:
            shown_text = json.dumps(probe.run())
        except WebexError as exc:
            shown_text = shown(exc) + json.dumps(probe.report)
        assert leaked_pieces(token, shown_text) == [], shown_text


def test_fuzz_a_probe_reply_quoting_the_bots_own_token_is_scrubbed_of_redact(echo_server):
    # A bot that answers with (part of) its own token: the probe knows it only through redact.
    rng = random.Random("botfleet-scrub-probe-redact")  # noqa: S311 - seeded on purpose: reproducible
    for _round in range(40):
        bot_token = random_token(rng)
        cut = bot_token[: rng.randint(PIECE, len(bot_token))]
        echo_server.answer = _probe_answers(lambda auth, cut=cut: f"barnacles status: my token is {cut}")
        report = Probe(probe_params(echo_server.base, redact=[bot_token])).run()
        assert report["reply_text"] == "barnacles status: my token is ********"
        assert leaked_pieces(bot_token, json.dumps(report)) == []
