"""The Webex client of webex_probe and webex_notify, against the lab's real Webex emulator.

The emulator never answers 429, Retry-After, redirects or non-JSON bodies; those cases run against a
scripted HTTP server on loopback (``scripted_server``), which is just as real an HTTP peer.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ansible_collections.botfleet.deploy.plugins.module_utils.probe import Probe, answers, parse_time, same_id
from ansible_collections.botfleet.deploy.plugins.module_utils.webex_client import (
    MAX_BACKOFF,
    WebexClient,
    WebexError,
    check_token,
    quote,
    retry_after_seconds,
    retry_delay,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "lab"))
from lab_support import EMAILS, IDENTITIES, TOKENS, Emulator, start_emulator_process

PROBE_TOKEN = TOKENS["probe"]
BOT_ID = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9iMDE0YjBjNi0xYWNlLTRmNGEtOWUyYy0wMDAwMDAwMDAwMDE"
SENT = {
    "id": "Y2lzY29zcGFyazovL3VzL01FU1NBR0UvNjBkNTg4N2EtYTI5Zi00MmM2LWE2ZDMtZjliYzFlNmFlMjMw",
    "created": "2026-01-01T10:00:00.500Z",
}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Emulator:
    workdir = tmp_path_factory.mktemp("webex-client")
    identities = workdir / "identities.json"
    identities.write_text(json.dumps(IDENTITIES), encoding="utf-8")
    started = start_emulator_process(identities, workdir / "emulator.log")
    yield started
    started.stop()


@pytest.fixture(autouse=True)
def no_faults_left(request):
    yield
    if "emulator" in request.fixturenames:
        emulator = request.getfixturevalue("emulator")
        for name in TOKENS:
            emulator.admin("DELETE", f"faults/{name}")


def client(emulator, who="probe", **kwargs):
    return WebexClient(TOKENS.get(who, who), base_url=f"{emulator.base}/v1/", **kwargs)


def shown(exc):
    """Everything an exception carries in words: its message, the traceback Python prints, and the
    exceptions it was raised from or during (even when suppressed)."""
    parts = []
    while exc is not None:
        parts += [str(exc), repr(exc), *traceback.format_exception_only(type(exc), exc)]
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# pure helpers


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, None), ("2", 2.0), (" 0.5 ", 0.5), ("-3", 0.0), ("soon", None), ("nan", None)],
)
def test_retry_after_seconds(header, seconds):
    assert retry_after_seconds(header) == seconds


def test_retry_after_as_an_http_date():
    now = 1_700_000_000.0
    assert retry_after_seconds("Tue, 14 Nov 2023 22:13:30 GMT", now=now) == 10.0
    assert retry_after_seconds("Tue, 14 Nov 2023 22:13:00 GMT", now=now) == 0.0


@pytest.mark.parametrize(
    ("retry", "retry_after", "delay"),
    [(0, None, 1.0), (1, None, 2.0), (2, None, 4.0), (10, None, MAX_BACKOFF), (0, 7.0, 7.0), (3, 0.0, 0.0)],
)
def test_retry_delay_backs_off_unless_the_server_says(retry, retry_after, delay):
    assert retry_delay(retry, retry_after) == delay


def test_parse_time_reads_webex_timestamps():
    assert parse_time("2024-01-01T00:00:00.123Z") == pytest.approx(1704067200.123)
    assert parse_time("2024-01-01T00:00:01Z") == 1704067201.0
    assert parse_time("yesterday") is None
    assert parse_time(None) is None


def test_same_id_compares_rest_ids_and_bare_uuids():
    assert same_id(SENT["id"], "60d5887a-a29f-42c6-a6d3-f9bc1e6ae230")
    assert same_id(SENT["id"], SENT["id"])
    assert not same_id(SENT["id"], "60d5887a-0000-42c6-a6d3-f9bc1e6ae230")
    assert not same_id(None, SENT["id"])


def reply(**fields):
    return {"id": "reply-1", "personEmail": "Barnacles@Webex.bot", "created": "2026-01-01T10:00:01.000Z", **fields}


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (reply(parentId=SENT["id"]), True),
        (reply(parentId="60d5887a-a29f-42c6-a6d3-f9bc1e6ae230"), True),  # webex_bot's bare UUID form
        (reply(), True),  # not threaded, newer
        (reply(created="2026-01-01T10:00:00.400Z"), False),  # older than the probe
        (reply(created="2026-01-01T10:00:00.500Z"), False),  # same instant: not provably newer
        (reply(parentId="Y2lzY29zcGFyazovL3VzL01FU1NBR0UvYW5vdGhlcg"), False),  # answers another message
        (reply(personEmail="alice@botfleet.example"), False),  # someone else
        ({**SENT, "personEmail": "barnacles@webex.bot"}, False),  # the probe itself
    ],
)
def test_what_counts_as_the_bots_answer(message, expected):
    assert answers(message, SENT, bot_email="barnacles@webex.bot") is expected


def test_the_bot_is_also_known_by_its_id():
    message = reply(personEmail="other@x", personId=BOT_ID, parentId=SENT["id"])
    assert answers(message, SENT, bot_id=BOT_ID)
    assert not answers(message, SENT, bot_email="barnacles@webex.bot")


def test_quote_keeps_one_short_line():
    assert quote("a\n  b") == "'a b'"
    assert quote("x" * 300, limit=10) == "'xxxxxxx...'"


@pytest.mark.parametrize("token", ["", "   ", "Bearer abc", "abc\ndef", "t\x00k", "tökén"])
def test_tokens_that_cannot_travel_in_a_header_are_refused_without_being_named(token):
    with pytest.raises(WebexError) as caught:
        check_token(token, "the probe token")
    assert str(caught.value).startswith("the probe token ")
    if token.strip():
        assert token.strip() not in shown(caught.value)


def test_check_token_strips_surrounding_whitespace():
    assert check_token("  abc-123\n", "the token") == "abc-123"


@pytest.mark.parametrize("base_url", ["webexapis.com/v1", "ftp://webexapis.com/v1/", "http://"])
def test_base_url_must_be_http(base_url):
    with pytest.raises(WebexError, match="base_url must be an http:// or https:// URL"):
        WebexClient(PROBE_TOKEN, base_url=base_url)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8790/v1/",
        "http://127.42.0.9/v1/",
        "http://[::1]:8790/v1/",
        "http://localhost:8790/v1/",
        "http://LocalHost/v1/",
        "https://webexapis.com/v1/",
        "https://10.0.0.5/v1/",
    ],
)
def test_http_goes_to_loopback_only_and_https_anywhere(base_url):
    assert WebexClient(PROBE_TOKEN, base_url=base_url).base_url == base_url


@pytest.mark.parametrize(
    "base_url",
    [
        "http://webexapis.com/v1/",
        "http://10.0.0.5:8790/v1/",
        "http://0.0.0.0:8790/v1/",
        "http://127.0.0.1.nip.io/v1/",
        "http://localhost.example.com/v1/",
        "http://[::ffff:10.0.0.5]/v1/",
        "HTTP://webexapis.com/v1/",
    ],
)
def test_http_to_another_host_is_refused_with_what_to_change(base_url):
    with pytest.raises(WebexError) as caught:
        WebexClient(PROBE_TOKEN, base_url=base_url)
    message = str(caught.value)
    assert "which is not this machine: the token would cross the network unencrypted" in message
    assert "Use https:// (such as https://webexapis.com/v1/), or set allow_insecure_http=true" in message
    assert PROBE_TOKEN not in shown(caught.value)


def test_allow_insecure_http_accepts_http_to_another_host():
    assert WebexClient(PROBE_TOKEN, base_url="http://10.0.0.5:8790/v1", allow_insecure_http=True).base_url == (
        "http://10.0.0.5:8790/v1/"
    )


def test_base_url_must_not_hold_credentials():
    with pytest.raises(WebexError, match="base_url must not hold credentials") as caught:
        WebexClient(PROBE_TOKEN, base_url="http://user:hunter2@127.0.0.1/v1")
    assert "hunter2" not in shown(caught.value)


# against the emulator


def test_people_me_and_lookup_by_email(emulator):
    probe = client(emulator)
    assert probe.me()["emails"] == [EMAILS["probe"]]
    bot = probe.person(email=EMAILS["barnacles"])
    assert bot["displayName"] == "Barnacles"
    assert probe.person(person_id=bot["id"])["emails"] == [EMAILS["barnacles"]]
    assert probe.attempts == 3


def test_unknown_email_is_a_clear_404(emulator):
    with pytest.raises(WebexError, match="Webex knows no person or bot with the email nobody@x") as caught:
        client(emulator).person(email="nobody@x")
    assert caught.value.status == 404


def test_send_then_list_newest_first(emulator):
    probe = client(emulator)
    first = probe.send_message(to_person_email=EMAILS["alice"], text="one")
    second = probe.send_message(to_person_email=EMAILS["alice"], markdown="**two**")
    assert first["roomId"] == second["roomId"]
    items = probe.list_messages(first["roomId"], max_messages=2)
    assert [m["id"] for m in items] == [second["id"], first["id"]]
    assert items[0]["markdown"] == "**two**"
    assert probe.get_message(first["id"])["text"] == "one"


def test_bad_token_is_refused_at_once(emulator):
    wrong = "not-a-token-0123456789"
    bad = client(emulator, who=wrong, backoff=0.01)
    with pytest.raises(WebexError) as caught:
        bad.me()
    message = str(caught.value)
    assert message.startswith(f"the token was refused (401) by {emulator.base}/v1/: The request requires")
    assert "trackingId EMULATOR_" in message
    assert caught.value.status == 401
    assert bad.attempts == 1
    assert wrong not in shown(caught.value)


def test_not_found_names_the_call(emulator):
    with pytest.raises(WebexError) as caught:
        client(emulator).get_message("no-such-message")
    assert caught.value.status == 404
    assert str(caught.value).startswith(f"GET {emulator.base}/v1/messages/no-such-message: not found (404)")


def test_bad_request_carries_webex_message(emulator):
    with pytest.raises(WebexError, match=r"Webex refused POST .*/v1/messages \(400\): Exactly one of roomId"):
        client(emulator).send_message(text="nowhere")


def test_connection_refused_names_the_url():
    base = f"http://127.0.0.1:{closed_port()}/v1/"
    unreachable = WebexClient(PROBE_TOKEN, base_url=base)
    with pytest.raises(WebexError) as caught:
        unreachable.me()
    assert str(caught.value).startswith(f"cannot reach {base}: connection refused (GET {base}people/me)")
    assert unreachable.attempts == 1
    assert PROBE_TOKEN not in shown(caught.value)


def test_5xx_is_retried_with_backoff_then_reported(emulator):
    emulator.admin("POST", "faults/probe", {"mode": "rest_error", "status": 503})
    failing = client(emulator, max_retries=2, backoff=0.01)
    with pytest.raises(WebexError) as caught:
        failing.me()
    assert caught.value.status == 503
    assert caught.value.attempts == 3
    assert failing.waits == [0.01, 0.02]
    assert str(caught.value).startswith(
        f"Webex answered 503 to GET {emulator.base}/v1/people/me 3 times: Injected fault: rest_error 503 for probe."
    )
    assert str(caught.value).endswith("; giving up after 2 retries (max_retries)")
    assert PROBE_TOKEN not in shown(caught.value)


def test_the_fault_is_per_identity(emulator):
    emulator.admin("POST", "faults/alice", {"mode": "rest_error", "status": 500})
    assert client(emulator).me()["emails"] == [EMAILS["probe"]]


def test_retries_never_outlast_the_deadline(emulator):
    emulator.admin("POST", "faults/probe", {"mode": "rest_error", "status": 502})
    failing = client(emulator, max_retries=5, backoff=1.0)
    failing.deadline = time.monotonic() + 0.5
    with pytest.raises(WebexError, match=r"the next retry \(in 1s\) would fall after the timeout") as caught:
        failing.me()
    assert caught.value.attempts == 1
    assert failing.waits == []


# against a scripted HTTP server (what the emulator never answers)


@pytest.fixture
def scripted_server():
    """An HTTP server on loopback answering a script of (status, headers, body) in order, then 200 {}."""
    script = []
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append({"path": self.path, "authorization": self.headers.get("Authorization")})
            status, headers, body = script.pop(0) if script else (200, {}, b"{}")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.script, server.seen = script, seen
    server.base = f"http://127.0.0.1:{server.server_address[1]}/v1/"
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_retry_after_is_honoured(scripted_server):
    scripted_server.script.append((429, {"Retry-After": "1"}, b'{"message": "Too many requests"}'))
    scripted_server.script.append((200, {}, b'{"emails": ["probe@botfleet.example"]}'))
    limited = WebexClient(PROBE_TOKEN, base_url=scripted_server.base, backoff=0.01)
    assert limited.me()["emails"] == ["probe@botfleet.example"]
    assert limited.attempts == 2
    assert limited.waits == [1.0]  # the server's wait, not the client's 0.01 s backoff
    assert [s["authorization"] for s in scripted_server.seen] == [f"Bearer {PROBE_TOKEN}"] * 2


def test_a_retry_after_beyond_the_deadline_gives_up_at_once(scripted_server):
    scripted_server.script.append((429, {"Retry-After": "120"}, b"{}"))
    limited = WebexClient(PROBE_TOKEN, base_url=scripted_server.base)
    limited.deadline = time.monotonic() + 5
    with pytest.raises(
        WebexError, match=r"answered 429 .* once: Too Many Requests; the next retry \(in 120s\) would fall after"
    ):
        limited.me()
    assert limited.attempts == 1


def test_without_a_deadline_a_long_retry_after_gives_up(scripted_server):
    scripted_server.script.append((503, {"Retry-After": "3600"}, b"{}"))
    with pytest.raises(WebexError, match="Retry-After asks to wait 3600s, longer than the 60s this task waits"):
        WebexClient(PROBE_TOKEN, base_url=scripted_server.base).me()


def test_redirects_are_refused_and_the_token_stays_home(scripted_server):
    elsewhere = f"http://127.0.0.1:{closed_port()}/v1/people/me"
    scripted_server.script.append((302, {"Location": elsewhere}, b""))
    with pytest.raises(WebexError, match=f"was redirected \\(302\\) to {elsewhere}; set base_url") as caught:
        WebexClient(PROBE_TOKEN, base_url=scripted_server.base).me()
    assert caught.value.status == 302
    assert len(scripted_server.seen) == 1


def test_a_non_json_answer_is_named(scripted_server):
    scripted_server.script.append((200, {"Content-Type": "text/html"}, b"<html>captive portal</html>"))
    with pytest.raises(WebexError, match=r"answered something other than JSON \('<html>captive portal</html>'\)"):
        WebexClient(PROBE_TOKEN, base_url=scripted_server.base).me()


def test_a_slow_server_times_out_clearly():
    with socket.socket() as listener:  # accepts (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        base = f"http://127.0.0.1:{listener.getsockname()[1]}/v1/"
        began = time.monotonic()
        with pytest.raises(WebexError, match=f"no answer from {base} within 1s"):
            WebexClient(PROBE_TOKEN, base_url=base, request_timeout=1).me()
        assert time.monotonic() - began < 5


# the probe without a bot: matching against replies the test writes as the bot


def probe_params(emulator, **overrides):
    params = {
        "token": PROBE_TOKEN,
        "base_url": f"{emulator.base}/v1/",
        "request_timeout": 10.0,
        "max_retries": 3,
        "validate_certs": True,
        "ca_path": None,
        "use_proxy": True,
        "room_id": None,
        "to_person_email": EMAILS["barnacles"],
        "to_person_id": None,
        "bot_email": None,
        "bot_id": None,
        "mention": True,
        "text": "status",
        "expect": ".+",
        "timeout": 5,
        "interval": 0.2,
    }
    params.update(overrides)
    return params


def answer_as_bot(emulator, replies, stop):
    """Play the bot: answer the probe's next message with ``replies`` (threaded unless said otherwise)."""
    room = emulator.send("barnacles", "warm-up", to="probe")["roomId"]
    known = {m["id"] for m in emulator.messages("barnacles", room)}
    while not stop.is_set():
        fresh = [m for m in emulator.messages("barnacles", room) if m["id"] not in known]
        probes = [m for m in fresh if m["personEmail"] == EMAILS["probe"]]
        if probes:
            for text, threaded in replies:
                body = {"roomId": room, "text": text, **({"parentId": probes[0]["id"]} if threaded else {})}
                emulator.call("POST", "/v1/messages", as_="barnacles", body=body)
            return
        time.sleep(0.05)


def run_probe_against(emulator, replies, **overrides):
    stop = threading.Event()
    bot = threading.Thread(target=answer_as_bot, args=(emulator, replies, stop), daemon=True)
    bot.start()
    time.sleep(0.3)  # the stand-in bot has written its warm-up message and knows the room
    probe = Probe(probe_params(emulator, **overrides))
    try:
        return probe, probe.run()
    finally:
        stop.set()
        bot.join(timeout=10)


def test_probe_passes_over_replies_that_do_not_match(emulator):
    probe, report = run_probe_against(emulator, [("working on it", True), ("barnacles status: ok", True)], expect="ok$")
    assert report["reply_text"] == "barnacles status: ok"
    assert report["sent_message_id"] and report["room_id"] and report["reply_message_id"]
    assert 0 < report["latency"] < 5
    assert report["reply_delay"] >= 0
    assert report["attempts"] >= 1
    assert probe.client.attempts == 1 + report["attempts"]  # one POST, then the reads


def test_probe_timeout_names_the_bot_the_pattern_and_the_last_reply(emulator):
    with pytest.raises(WebexError) as caught:
        run_probe_against(emulator, [("help card", True)], expect="^barnacles status", timeout=2)
    assert str(caught.value) == (
        f"no reply from bot {EMAILS['barnacles']} matching '^barnacles status' within 2s; last reply seen: 'help card'"
    )


def test_probe_timeout_without_any_reply_mentions_the_bots_last_message(emulator):
    began = time.monotonic()
    with pytest.raises(WebexError) as caught:
        run_probe_against(emulator, [], timeout=2)
    assert time.monotonic() - began < 8
    assert str(caught.value).startswith(
        f"no reply from bot {EMAILS['barnacles']} matching '.+' within 2s; last reply seen: none since the probe "
        "was sent (the bot's last message in the room is from "
    )
    assert "'warm-up'" in str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"to_person_email": None, "room_id": "r"}, "with room_id, give bot_email or bot_id"),
        ({"room_id": "r"}, "give exactly one of room_id, to_person_email, to_person_id"),
        ({"expect": "("}, "expect: '(' is not a valid regular expression"),
        ({"text": " "}, "text is empty"),
        ({"timeout": 0}, "timeout must be a positive number of seconds, not 0"),
        ({"token": "Bearer x"}, "the probe token contains whitespace"),
    ],
)
def test_probe_inputs_are_checked_before_anything_is_sent(emulator, overrides, message):
    with pytest.raises(WebexError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Probe(probe_params(emulator, **overrides))


def test_probe_describes_itself_for_check_mode(emulator):
    room = Probe(probe_params(emulator, to_person_email=None, room_id="ROOM", bot_email=EMAILS["barnacles"]))
    assert room.describe() == (
        f"send 'status' to bot {EMAILS['barnacles']} in room ROOM and wait up to 5s for a reply matching '.+'"
    )
    assert Probe(probe_params(emulator)).describe().startswith(f"send 'status' to bot {EMAILS['barnacles']} directly")
