"""The Webex emulator's endpoints, exercised over HTTP and websockets as webex_bot uses them."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from lab_support import EMAILS, EMULATOR_PATH, IDENTITIES, TOKENS, Emulator, http, uuid_of, wait_for

DEVICE = {"name": "python-spark-client", "deviceType": "DESKTOP", "model": "python", "systemVersion": "0.1"}
SOCKET_TIMEOUT = 5.0


def decoded(rest_id: str) -> str:
    return base64.urlsafe_b64decode(rest_id + "=" * (-len(rest_id) % 4)).decode()


def register(emulator: Emulator, name: str = "barnacles") -> dict[str, Any]:
    reply = emulator.call("POST", "/wdm/api/v1/devices", as_=name, body=DEVICE)
    assert reply.status == 200, reply.body
    return reply.body


def run(scenario: Callable[[], Awaitable[None]], timeout: float = 30.0) -> None:
    asyncio.run(asyncio.wait_for(scenario(), timeout))


async def until(predicate: Callable[[], Any], timeout: float = SOCKET_TIMEOUT, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(0.05)
    return result


async def next_message(ws: aiohttp.ClientWebSocketResponse, timeout: float = SOCKET_TIMEOUT) -> aiohttp.WSMessage:
    """The next data or close message; a deadline for the whole wait (aiohttp's own ``timeout``
    restarts whenever a ping arrives, and the emulator pings every 2 s)."""
    return await asyncio.wait_for(ws.receive(), timeout)


async def next_frame(ws: aiohttp.ClientWebSocketResponse, timeout: float = SOCKET_TIMEOUT) -> dict[str, Any]:
    message = await next_message(ws, timeout)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    return json.loads(message.data)


async def authorized_socket(
    session: aiohttp.ClientSession, emulator: Emulator, name: str = "barnacles", user_agent: str | None = None
) -> aiohttp.ClientWebSocketResponse:
    """Register a device and open its websocket the way webex_bot does (header + authorization frame)."""
    device = register(emulator, name)
    token = TOKENS[name]
    headers = {"Authorization": f"Bearer {token}"}
    if user_agent is not None:
        headers["User-Agent"] = user_agent
    ws = await session.ws_connect(device["webSocketUrl"], headers=headers)
    await ws.send_json({"id": str(uuid.uuid4()), "type": "authorization", "data": {"token": f"Bearer {token}"}})
    device_id = device["url"].rsplit("/", 1)[1]
    await until(
        lambda: any(c["authorized"] and c["device"] == device_id for c in emulator.connections(name)),
        what="authorization",
    )
    return ws


def test_ready_line_names_the_real_port(emulator: Emulator) -> None:
    assert emulator.port != 0
    health = emulator.admin("GET", "health")
    assert health.status == 200
    assert health.body["status"] == "ok"
    assert health.body["identities"] == len(IDENTITIES)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-known-token", f"Basic {TOKENS['probe']}", "Bearer"],
    ids=["missing", "unknown", "wrong-scheme", "empty"],
)
@pytest.mark.parametrize("path", ["/v1/people/me", "/u2c/api/v1/catalog?format=hostmap", "/wdm/api/v1/devices"])
def test_requests_without_a_valid_token_get_401(emulator: Emulator, authorization: str | None, path: str) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    reply = http("GET", emulator.base + path, headers=headers)
    assert reply.status == 401
    assert reply.body["message"]
    assert reply.body["trackingId"].startswith("EMULATOR_")


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", b"\xff\xfe"], ids=["broken", "array", "empty", "binary"])
def test_malformed_json_body_gets_400(emulator: Emulator, raw: bytes) -> None:
    reply = emulator.call("POST", "/v1/messages", as_="probe", raw=raw)
    assert reply.status == 400
    assert reply.body["message"]
    assert reply.body["trackingId"].startswith("EMULATOR_")


def test_people_me_and_people_get(emulator: Emulator) -> None:
    me = emulator.call("GET", "/v1/people/me", as_="barnacles")
    assert me.status == 200
    assert me.body["emails"] == [EMAILS["barnacles"]]
    assert me.body["displayName"] == "Barnacles"
    assert me.body["type"] == "bot"
    assert decoded(me.body["id"]).startswith("ciscospark://us/PEOPLE/")
    other = emulator.call("GET", f"/v1/people/{me.body['id']}", as_="probe")
    assert other.status == 200
    assert other.body == me.body
    assert emulator.call("GET", "/v1/people/bm9ib2R5", as_="probe").status == 404


def test_person_ids_are_stable_across_emulators(start_emulator: Callable[..., Emulator]) -> None:
    first = start_emulator().call("GET", "/v1/people/me", as_="probe").body["id"]
    second = start_emulator().call("GET", "/v1/people/me", as_="probe").body["id"]
    assert first == second


def test_direct_messages_post_get_and_list_newest_first(emulator: Emulator) -> None:
    sent = [emulator.send("probe", f"message {n}") for n in range(3)]
    assert len({m["roomId"] for m in sent}) == 1
    first = sent[0]
    assert first["roomType"] == "direct"
    assert first["personEmail"] == EMAILS["probe"]
    assert first["toPersonEmail"] == EMAILS["barnacles"]
    assert first["created"].endswith("Z")
    assert decoded(first["id"]).startswith("ciscospark://us/MESSAGE/")

    fetched = emulator.call("GET", f"/v1/messages/{first['id']}", as_="barnacles")
    assert fetched.status == 200
    assert fetched.body == first

    room = first["roomId"]
    page = emulator.call("GET", f"/v1/messages?roomId={room}&max=2", as_="probe")
    assert page.status == 200
    assert [m["text"] for m in page.body["items"]] == ["message 2", "message 1"]
    link = page.headers["Link"]
    assert link.endswith('rel="next"')
    next_url = link[1 : link.index(">")]
    query = parse_qs(urlsplit(next_url).query)
    assert query["roomId"] == [room]
    rest = emulator.call("GET", next_url[len(emulator.base) :], as_="probe")
    assert [m["text"] for m in rest.body["items"]] == ["message 0"]
    assert "Link" not in rest.headers


def test_direct_room_is_shared_by_email_and_person_id(emulator: Emulator) -> None:
    by_email = emulator.send("probe", "hello")
    bot = emulator.call("GET", "/v1/people/me", as_="barnacles").body
    probe = emulator.call("GET", "/v1/people/me", as_="probe").body
    reply = emulator.call("POST", "/v1/messages", as_="barnacles", body={"toPersonId": probe["id"], "markdown": "*hi*"})
    assert reply.status == 200
    assert reply.body["roomId"] == by_email["roomId"]
    assert reply.body["text"] == "*hi*"
    rooms = emulator.call("GET", "/v1/rooms", as_="probe").body["items"]
    assert [(r["id"], r["type"], r["title"]) for r in rooms] == [(by_email["roomId"], "direct", bot["displayName"])]
    room = emulator.call("GET", f"/v1/rooms/{by_email['roomId']}", as_="barnacles")
    assert room.status == 200
    assert room.body["title"] == probe["displayName"]
    members = emulator.call("GET", f"/v1/memberships?roomId={by_email['roomId']}", as_="barnacles").body["items"]
    assert sorted(m["personEmail"] for m in members) == sorted([EMAILS["probe"], EMAILS["barnacles"]])


def test_thread_replies_name_their_parent_by_rest_id(emulator: Emulator) -> None:
    sent = emulator.send("probe", "echo thread")
    # webex_bot threads under activity.id, the bare message UUID.
    body = {"roomId": sent["roomId"], "markdown": "thread", "parentId": uuid_of(sent["id"])}
    reply = emulator.call("POST", "/v1/messages", as_="barnacles", body=body)
    assert reply.status == 200
    assert reply.body["parentId"] == sent["id"]
    thread = emulator.call("GET", f"/v1/messages?roomId={sent['roomId']}&parentId={sent['id']}", as_="probe")
    assert [m["id"] for m in thread.body["items"]] == [reply.body["id"]]
    assert emulator.reply_to(sent) == reply.body
    orphan = {"roomId": sent["roomId"], "text": "x", "parentId": str(uuid.uuid4())}
    assert emulator.call("POST", "/v1/messages", as_="barnacles", body=orphan).status == 400


def test_messages_are_private_to_room_members(emulator: Emulator) -> None:
    sent = emulator.send("probe", "just for barnacles")
    assert emulator.call("GET", f"/v1/messages/{sent['id']}", as_="alice").status == 404
    assert emulator.call("GET", f"/v1/messages?roomId={sent['roomId']}", as_="alice").status == 404
    assert emulator.call("GET", "/v1/messages", as_="probe").status == 400


def test_message_validation(emulator: Emulator) -> None:
    room = emulator.send("probe", "first")["roomId"]
    cases = [
        {"roomId": room},
        {"text": "no destination"},
        {"roomId": room, "toPersonEmail": EMAILS["barnacles"], "text": "two destinations"},
        {"toPersonEmail": "nobody@nowhere.example", "text": "unknown person"},
        {"roomId": room, "text": 42},
        {"roomId": room, "text": "x" * 8000},
    ]
    statuses = [emulator.call("POST", "/v1/messages", as_="probe", body=body).status for body in cases]
    assert statuses == [400, 400, 400, 404, 400, 400]


def test_catalog_and_wdm_registration(emulator: Emulator) -> None:
    catalog = emulator.call("GET", "/u2c/api/v1/catalog?format=hostmap", as_="barnacles")
    assert catalog.status == 200
    wdm = catalog.body["serviceLinks"]["wdm"]
    assert wdm == f"{emulator.base}/wdm/api/v1"
    first = register(emulator)
    second = register(emulator)
    other = register(emulator, "alice")
    ws_prefix = f"ws://127.0.0.1:{emulator.port}/"
    assert all(d["webSocketUrl"].startswith(ws_prefix) for d in (first, second, other))
    assert len({d["webSocketUrl"] for d in (first, second, other)}) == 3
    assert first["name"] == "python-spark-client"
    listed = emulator.call("GET", "/wdm/api/v1/devices", as_="barnacles").body["devices"]
    assert [d["webSocketUrl"] for d in listed] == [second["webSocketUrl"], first["webSocketUrl"]]
    assert emulator.events("barnacles")["registrations"] == 2
    assert emulator.call("POST", "/wdm/api/v1/devices", as_="barnacles", body={"deviceType": "DESKTOP"}).status == 400


def test_websocket_delivers_activity_webex_bot_can_resolve_and_records_ack(emulator: Emulator) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await authorized_socket(session, emulator)
            sent = emulator.send("probe", "echo hi")
            frame = await next_frame(ws)
            assert frame["data"]["eventType"] == "conversation.activity"
            activity = frame["data"]["activity"]
            assert activity["verb"] == "post"
            assert activity["actor"]["type"] == "PERSON"
            assert activity["actor"]["emailAddress"] == EMAILS["probe"]
            assert "ONE_ON_ONE" in activity["target"]["tags"]
            # webex_bot's derivation of the message lookup URL, verbatim.
            target = activity["target"]
            lookup_url = target["url"].replace(f"conversations/{target['id']}", f"messages/{activity['id']}")
            assert lookup_url.startswith(emulator.base)
            lookup = emulator.call("GET", lookup_url[len(emulator.base) :], as_="barnacles")
            assert lookup.status == 200
            assert lookup.body["id"] == sent["id"]
            await ws.send_json({"type": "ack", "messageId": lookup.body["id"]})
            await until(lambda: emulator.events("barnacles")["acked"] == 1, what="the ack to be recorded")
            await ws.ping(b"keepalive")
            await until(lambda: emulator.connections("barnacles")[0]["client_pings_answered"] == 1, what="a pong")
            await ws.close()

    run(scenario)
    events = emulator.events("barnacles")
    assert events["connects"] == 1
    assert events["authorizations"] == 1
    assert [d["state"] for d in events["deliveries"]] == ["delivered"]
    assert events["deliveries"][0]["acked"] is True
    wait_for(lambda: emulator.events("barnacles")["disconnects"] == 1, 5, what="the disconnect to be recorded")


def test_websocket_with_wrong_authorization_frame_is_closed(emulator: Emulator) -> None:
    async def scenario() -> None:
        device = register(emulator)
        async with aiohttp.ClientSession() as session, session.ws_connect(device["webSocketUrl"]) as ws:
            await ws.send_json({"id": "1", "type": "authorization", "data": {"token": f"Bearer {TOKENS['probe']}"}})
            message = await next_message(ws)
            assert message.type is aiohttp.WSMsgType.CLOSE
            assert ws.close_code == 4401

    run(scenario)
    assert emulator.events("barnacles")["auth_failures"] == 1


def test_websocket_handshake_errors(emulator: Emulator) -> None:
    device = register(emulator)
    unknown = device["webSocketUrl"].replace(device["url"].rsplit("/", 1)[1], str(uuid.uuid4()))

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as not_found:
                await session.ws_connect(unknown)
            assert not_found.value.status == 404
            with pytest.raises(aiohttp.WSServerHandshakeError) as unauthorized:
                await session.ws_connect(device["webSocketUrl"], headers={"Authorization": "Bearer wrong"})
            assert unauthorized.value.status == 401

    run(scenario)


def test_a_bots_own_messages_are_not_pushed_back(emulator: Emulator) -> None:
    probe = emulator.call("GET", "/v1/people/me", as_="probe").body

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await authorized_socket(session, emulator)
            reply = emulator.call(
                "POST", "/v1/messages", as_="barnacles", body={"toPersonId": probe["id"], "text": "hi"}
            )
            assert reply.status == 200
            with pytest.raises(asyncio.TimeoutError):
                await next_frame(ws, 1.0)
            await ws.close()

    run(scenario)
    assert emulator.events("barnacles")["deliveries"] == []


def test_group_room_delivers_to_a_bot_only_when_mentioned(emulator: Emulator) -> None:
    room = emulator.admin("POST", "rooms", {"title": "fleet", "creator": "probe", "members": ["barnacles", "alice"]})
    assert room.status == 200
    room_id = room.body["id"]

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await authorized_socket(session, emulator)
            plain = {"roomId": room_id, "text": "status"}
            assert emulator.call("POST", "/v1/messages", as_="probe", body=plain).status == 200
            with pytest.raises(asyncio.TimeoutError):
                await next_frame(ws, 1.0)
            mention = {"roomId": room_id, "markdown": f"<@personEmail:{EMAILS['barnacles']}> status"}
            sent = emulator.call("POST", "/v1/messages", as_="probe", body=mention).body
            assert sent["text"] == "Barnacles status"
            frame = await next_frame(ws)
            assert frame["data"]["activity"]["target"]["tags"] == []
            assert frame["data"]["activity"]["id"] == decoded(sent["id"]).rsplit("/", 1)[1]
            await ws.close()

    run(scenario)
    # alice, a person, got both messages as deliveries (no websocket: nowhere to send them).
    assert [d["state"] for d in emulator.events("alice")["deliveries"]] == ["no_connection", "no_connection"]


def test_admin_faults_set_list_and_clear(emulator: Emulator) -> None:
    assert emulator.admin("GET", "faults").body == {}
    assert emulator.admin("POST", "faults/barnacles", {"mode": "blackhole"}).status == 200
    assert emulator.admin("POST", "faults/alice", {"mode": "delay", "seconds": 2}).status == 200
    listed = emulator.admin("GET", "faults").body
    assert listed["barnacles"]["mode"] == "blackhole"
    assert listed["alice"] == {"mode": "delay", "seconds": 2.0, "since": listed["alice"]["since"]}
    cleared = emulator.admin("DELETE", "faults/barnacles")
    assert cleared.status == 200
    assert cleared.body["cleared"]["mode"] == "blackhole"
    assert set(emulator.admin("GET", "faults").body) == {"alice"}
    assert emulator.admin("DELETE", "faults/barnacles").body["cleared"] is None


@pytest.mark.parametrize(
    "spec",
    [
        {"mode": "nap"},
        {"mode": "delay"},
        {"mode": "delay", "seconds": -1},
        {"mode": "rest_error", "status": 404},
        [],
        {"mode": "stale_after_idle"},
        {"mode": "stale_after_idle", "seconds": True},
        {"mode": "stale_after_idle", "seconds": 5, "user_agent": "websockets/(11"},
        {"mode": "stale_after_idle", "seconds": 5, "user_agent": 11},
        {"mode": "blackhole", "user_agent": "websockets/11"},
    ],
    ids=[
        "unknown-mode",
        "delay-without-seconds",
        "negative-delay",
        "rest-error-4xx",
        "not-an-object",
        "stale-without-seconds",
        "stale-boolean-seconds",
        "stale-broken-regex",
        "stale-user-agent-not-a-string",
        "user-agent-on-blackhole",
    ],
)
def test_admin_rejects_invalid_faults(emulator: Emulator, spec: Any) -> None:
    reply = emulator.admin("POST", "faults/barnacles", spec)
    assert reply.status == 400
    assert emulator.admin("GET", "faults").body == {}


def test_admin_stale_after_idle_is_set_listed_and_cleared(emulator: Emulator) -> None:
    spec = {"mode": "stale_after_idle", "seconds": 8, "user_agent": r"^webex_bot/1\.0\."}
    stored = emulator.admin("POST", "faults/barnacles", spec)
    assert stored.status == 200
    assert stored.body == {"name": "barnacles", **spec, "seconds": 8.0, "since": stored.body["since"]}
    assert emulator.admin("GET", "faults").body == {"barnacles": {key: stored.body[key] for key in (*spec, "since")}}
    without_agent = emulator.admin("POST", "faults/toodles", {"mode": "stale_after_idle", "seconds": 8})
    assert without_agent.body["user_agent"] is None
    cleared = emulator.admin("DELETE", "faults/barnacles")
    assert cleared.body["cleared"]["user_agent"] == spec["user_agent"]
    assert set(emulator.admin("GET", "faults").body) == {"toodles"}


def test_admin_fault_for_unknown_identity_is_404(emulator: Emulator) -> None:
    assert emulator.admin("POST", "faults/nobody", {"mode": "blackhole"}).status == 404


def test_rest_error_fault_hits_only_that_identity(emulator: Emulator) -> None:
    emulator.admin("POST", "faults/barnacles", {"mode": "rest_error", "status": 503})
    failing = emulator.call("GET", "/v1/people/me", as_="barnacles")
    assert failing.status == 503
    assert "rest_error" in failing.body["message"]
    assert emulator.call("GET", "/wdm/api/v1/devices", as_="barnacles").status == 503
    assert emulator.call("GET", "/v1/people/me", as_="probe").status == 200
    emulator.admin("DELETE", "faults/barnacles")
    assert emulator.call("GET", "/v1/people/me", as_="barnacles").status == 200


def test_blackhole_keeps_the_socket_and_pings_but_delivers_nothing_and_drop_closes_it(emulator: Emulator) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await authorized_socket(session, emulator)
            emulator.admin("POST", "faults/barnacles", {"mode": "blackhole"})
            emulator.send("probe", "are you there?")
            receiving = asyncio.ensure_future(next_message(ws, 3.0))
            # The emulator's heartbeat (2 s) keeps pinging; aiohttp answers, the emulator counts it.
            await until(lambda: emulator.connections("barnacles")[0]["pongs_received"] >= 1, 4.0, "a pong")
            with pytest.raises(asyncio.TimeoutError):
                await receiving
            assert not ws.closed
            assert [d["state"] for d in emulator.events("barnacles")["deliveries"]] == ["blackholed"]

            dropped = emulator.admin("POST", "faults/barnacles", {"mode": "drop"})
            assert dropped.body["dropped"] == 1
            message = await next_message(ws)
            assert message.type is aiohttp.WSMsgType.CLOSE
            assert ws.close_code == 1001

    run(scenario)
    # drop is an action: the stored blackhole is untouched.
    assert emulator.admin("GET", "faults").body["barnacles"]["mode"] == "blackhole"


def test_delay_fault_holds_delivery(emulator: Emulator) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await authorized_socket(session, emulator)
            emulator.admin("POST", "faults/barnacles", {"mode": "delay", "seconds": 1.5})
            began = time.monotonic()
            emulator.send("probe", "slow")
            frame = await next_frame(ws)
            assert time.monotonic() - began >= 1.4
            assert frame["data"]["activity"]["verb"] == "post"
            await ws.close()

    run(scenario)


def test_stale_after_idle_swallows_the_first_delivery_closes_the_socket_and_lets_the_next_through(
    emulator: Emulator,
) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await authorized_socket(session, emulator)
            assert emulator.admin("POST", "faults/barnacles", {"mode": "stale_after_idle", "seconds": 1}).status == 200
            await until(lambda: emulator.connections("barnacles")[0]["stale"], 3.0, "the socket to go stale")
            # Nothing looks wrong: the socket is open and its pings are answered.
            await ws.ping(b"still there?")
            await until(lambda: emulator.connections("barnacles")[0]["client_pings_answered"] == 1, what="a pong")
            emulator.send("probe", "echo first after idle")
            message = await next_message(ws)
            assert message.type is aiohttp.WSMsgType.CLOSE, message
            assert ws.close_code == 1001

            fresh = await authorized_socket(session, emulator)
            assert [c["stale"] for c in emulator.connections("barnacles")] == [False]
            emulator.send("probe", "echo second")
            frame = await next_frame(fresh)
            assert frame["data"]["activity"]["object"]["displayName"] == "echo second"
            # The idle of a connection counts from its last delivered activity.
            assert emulator.connections("barnacles")[0]["last_delivery_at"] is not None
            await fresh.close()

    run(scenario)
    events = emulator.events("barnacles")
    assert [(d["state"], d["connections"], d["stale_connections"]) for d in events["deliveries"]] == [
        ("stale", 0, 1),
        ("delivered", 1, 0),
    ]
    assert events["stale_closes"] == 1
    assert events["connects"] == 2


def test_stale_after_idle_selects_connections_by_user_agent(emulator: Emulator) -> None:
    """Two sockets of one identity, with the websockets library's default User-Agents: only the
    one the regex matches goes stale, and the activity still reaches the other."""
    spec = {"mode": "stale_after_idle", "seconds": 1, "user_agent": r"websockets/11\."}

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            old = await authorized_socket(session, emulator, user_agent="Python/3.11 websockets/11.0.3")
            new = await authorized_socket(session, emulator, user_agent="Python/3.11 websockets/16.1")
            assert emulator.admin("POST", "faults/barnacles", spec).status == 200
            await until(lambda: any(c["stale"] for c in emulator.connections("barnacles")), 3.0, "a socket to go stale")
            stale = {c["user_agent"]: c["stale"] for c in emulator.connections("barnacles")}
            assert stale == {"Python/3.11 websockets/11.0.3": True, "Python/3.11 websockets/16.1": False}
            emulator.send("probe", "echo after idle")
            frame = await next_frame(new)
            assert frame["data"]["activity"]["object"]["displayName"] == "echo after idle"
            message = await next_message(old)
            assert message.type is aiohttp.WSMsgType.CLOSE, message
            await new.close()

    run(scenario)
    events = emulator.events("barnacles")
    assert [(d["state"], d["connections"], d["stale_connections"]) for d in events["deliveries"]] == [
        ("delivered", 1, 1)
    ]
    assert events["stale_closes"] == 1


def test_state_file_keeps_history_across_a_restart(start_emulator: Callable[..., Emulator], tmp_path: Any) -> None:
    state = tmp_path / "state.json"
    first = start_emulator("--state-file", str(state))
    sent = first.send("probe", "remember me")
    device = register(first)
    assert first.stop() == 0, first.log_path.read_text()
    second = start_emulator("--state-file", str(state))
    fetched = second.call("GET", f"/v1/messages/{sent['id']}", as_="barnacles")
    assert fetched.status == 200
    assert fetched.body["text"] == "remember me"
    devices = second.call("GET", "/wdm/api/v1/devices", as_="barnacles").body["devices"]
    assert [d["url"].rsplit("/", 1)[1] for d in devices] == [device["url"].rsplit("/", 1)[1]]


def test_refuses_to_listen_beyond_loopback(identities_file: Any) -> None:
    command = [sys.executable, "-m", "webex_emulator", "--host", "192.0.2.1", "--identities", str(identities_file)]
    result = subprocess.run(
        command,
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PYTHONPATH": str(EMULATOR_PATH), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "only loopback" in result.stderr
