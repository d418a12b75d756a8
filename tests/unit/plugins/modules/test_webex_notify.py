"""webex_notify through Ansible against the lab's Webex emulator."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "lab"))
from lab_support import EMAILS, IDENTITIES, TOKENS, start_emulator_process

pytestmark = pytest.mark.slow

MARKDOWN = "Canary **barnacles** passed on release `3f9c2a`."


@pytest.fixture(scope="module")
def lab_emulator(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("webex-notify")
    identities = workdir / "identities.json"
    identities.write_text(json.dumps(IDENTITIES), encoding="utf-8")
    emulator = start_emulator_process(identities, workdir / "emulator.log")
    yield emulator
    emulator.stop()


@pytest.fixture
def emulator(lab_emulator):
    yield lab_emulator
    for name in TOKENS:
        lab_emulator.admin("DELETE", f"faults/{name}")


@pytest.fixture
def room(emulator):
    created = emulator.admin("POST", "rooms", {"title": "deployments", "creator": "alice", "members": ["probe"]})
    assert created.status == 200, created.body
    return created.body["id"]


@pytest.fixture
def notify(emulator, run_module):
    """Run webex_notify as the probe identity; no result may hold the token anywhere."""

    def call(check=False, **args):
        params = {"token": TOKENS["probe"], "base_url": f"{emulator.base}/v1/", "markdown": MARKDOWN, **args}
        result = run_module("botfleet.deploy.webex_notify", params, check=check)
        assert params["token"] not in json.dumps(result)
        return result

    return call


def test_posts_to_a_room_and_returns_the_id(emulator, room, notify):
    result = notify(room_id=room)
    assert result.get("failed") is not True, result
    assert result["changed"] is True
    assert result["room_id"] == room
    posted = emulator.call("GET", f"/v1/messages/{result['message_id']}", as_="alice").body
    assert posted["markdown"] == MARKDOWN
    assert posted["personEmail"] == EMAILS["probe"]
    assert [m["id"] for m in emulator.messages("alice", room)] == [result["message_id"]]


def test_posts_a_direct_message(emulator, notify):
    result = notify(to_person_email=EMAILS["alice"])
    assert result["changed"] is True
    assert emulator.messages("alice", result["room_id"])[0]["id"] == result["message_id"]


def test_check_mode_posts_nothing(emulator, room, notify):
    delivered = len(emulator.events("alice")["deliveries"])
    result = notify(check=True, room_id=room)
    assert result["changed"] is True
    assert result["message_id"] is None
    assert result["msg"] == f"would post to room {room}"
    assert emulator.messages("alice", room) == []
    assert len(emulator.events("alice")["deliveries"]) == delivered


def test_a_bad_token_fails_clearly(room, notify):
    result = notify(room_id=room, token="lab-token-nobody-0123456789abcdef")
    assert result["failed"] is True
    assert result["msg"].startswith("the notify token was refused (401) by http://127.0.0.1:")
    assert "lab-token-nobody-0123456789abcdef" not in json.dumps(result)


def test_a_room_the_identity_cannot_see_is_named(emulator, notify):
    hidden = emulator.admin("POST", "rooms", {"title": "private", "creator": "alice", "members": []}).body["id"]
    result = notify(room_id=hidden)
    assert result["failed"] is True
    assert result["msg"].startswith(
        f"POST {emulator.base}/v1/messages: not found (404): Could not find a room with provided ID. (trackingId "
    )
    assert emulator.messages("alice", hidden) == []


def test_rest_errors_fail_after_the_retries(emulator, room, notify):
    emulator.admin("POST", "faults/probe", {"mode": "rest_error", "status": 502})
    result = notify(room_id=room, max_retries=1)
    assert result["failed"] is True
    assert result["msg"].startswith(f"Webex answered 502 to POST {emulator.base}/v1/messages 2 times: Injected fault")
    assert emulator.messages("alice", room) == []


def test_exactly_one_target(notify):
    result = notify()
    assert result["failed"] is True
    assert "one of the following is required: room_id, to_person_email, to_person_id" in result["msg"]


def test_http_to_another_host_is_refused_before_anything_is_sent(notify):
    result = notify(room_id="room", base_url="http://192.0.2.10:8790/v1/")
    assert result["failed"] is True
    assert result["msg"] == (
        "base_url 'http://192.0.2.10:8790/v1/' is http:// to 192.0.2.10, which is not this machine: the token "
        "would cross the network unencrypted. Use https:// (such as https://webexapis.com/v1/), or set "
        "allow_insecure_http=true if the network to that host is trusted"
    )


def test_allow_insecure_http_accepts_it(notify):
    result = notify(check=True, room_id="room", base_url="http://192.0.2.10:8790/v1/", allow_insecure_http=True)
    assert result.get("failed") is not True, result
    assert result["msg"] == "would post to room room"


def test_a_server_that_echoes_the_token_cut_short_leaks_no_part_of_it(run_module, tmp_path):
    # A real HTTP server on loopback that answers with the request's Authorization header, cut at 70.
    token = "MzU0NmU0ZjQtNzYxYS00ZDc3LWE1MjMtYjg0ZDFlYTg4ZGE1YjQxZDM1NmMtZjhk_PF84_4c3e2e8b-23d1"

    class Echo(BaseHTTPRequestHandler):
        def do_POST(self):
            body = f"<html>{self.headers.get('Authorization', '')[:70]}</html>".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/v1/"
        result = run_module(
            "botfleet.deploy.webex_notify", {"token": token, "base_url": base, "room_id": "r", "markdown": "hi"}
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result["failed"] is True
    assert result["msg"].startswith(f"POST {base}messages answered something other than JSON ('<html>Bearer ********")
    shown = json.dumps(result)
    assert [token[i : i + 8] for i in range(len(token) - 7) if token[i : i + 8] in shown] == []
