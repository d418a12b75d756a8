"""webex_probe through Ansible against the lab's Webex emulator and a real demo bot.

The bot is the lab's demo bot on the real webex_bot 1.3.1 and websockets 16.1 (a cached venv, built
from PyPI or uv's cache on first use), connected to the emulator over a real websocket.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "lab"))
from lab_support import (
    BOT_READY_TIMEOUT,
    EMAILS,
    IDENTITIES,
    LAB_PYTHON,
    NEW,
    TOKENS,
    build_demo_wheel,
    demo_source_digest,
    ensure_demo_venv,
    start_bot_process,
    start_emulator_process,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.network]

BOT = EMAILS["barnacles"]
# Seconds a probe may take beyond its own timeout: Ansible's start-up and the last read.
OVERHEAD = 15


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The emulator and barnacles (demo bot, webex_bot 1.3.1) connected to it, for the whole module."""
    if not LAB_PYTHON.exists():
        pytest.skip(f"{LAB_PYTHON} not found; set BOTFLEET_LAB_PYTHON to a Python >= 3.10 interpreter")
    workdir = tmp_path_factory.mktemp("webex-probe")
    venv = ensure_demo_venv(NEW, build_demo_wheel(workdir / "build"), demo_source_digest())
    identities = workdir / "identities.json"
    identities.write_text(json.dumps(IDENTITIES), encoding="utf-8")
    emulator = start_emulator_process(identities, workdir / "emulator.log")
    bot = start_bot_process(venv, emulator, workdir / "bot.log")
    try:
        wait_for(
            lambda: any(c["authorized"] for c in emulator.connections("barnacles")),
            BOT_READY_TIMEOUT,
            what="the demo bot's websocket to authorize",
        )
        yield emulator, bot
    finally:
        bot.stop()
        emulator.stop()


@pytest.fixture
def emulator(lab):
    emulator, bot = lab
    yield emulator
    for name in TOKENS:
        emulator.admin("DELETE", f"faults/{name}")
    assert bot.alive(), bot.log()


@pytest.fixture
def probe(emulator, run_module):
    """Run webex_probe as the probe identity; no result may hold the probe token anywhere."""

    def call(check=False, **args):
        params = {"token": TOKENS["probe"], "base_url": f"{emulator.base}/v1/", **args}
        if not any(target in args for target in ("room_id", "to_person_email", "to_person_id")):
            params["to_person_email"] = BOT
        began = time.monotonic()
        result = run_module("botfleet.deploy.webex_probe", params, check=check)
        call.seconds = time.monotonic() - began
        assert params["token"] not in json.dumps(result)
        return result

    return call


def deliveries(emulator):
    return len(emulator.events("barnacles")["deliveries"])


def test_the_bot_answers_status_with_its_versions(emulator, probe):
    result = probe(expect=r"^barnacles status: .*webex_bot=1\.3\.1 websockets=16\.1", timeout=20)
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    assert re.search(r"websockets=16\.1", result["reply_text"])
    assert 0 < result["latency"] < 20
    assert result["attempts"] >= 1
    assert result["msg"] == f"bot {BOT} answered in {result['latency']:g}s"
    sent = emulator.call("GET", f"/v1/messages/{result['sent_message_id']}", as_="probe").body
    answer = emulator.call("GET", f"/v1/messages/{result['reply_message_id']}", as_="probe").body
    assert sent["text"] == "status"
    assert sent["roomId"] == answer["roomId"] == result["room_id"]
    assert answer["personEmail"] == BOT
    assert answer["parentId"] == result["sent_message_id"]  # webex_bot threads its answer under the probe
    assert result["reply_delay"] >= 0


def test_by_person_id(emulator, probe):
    bot_id = emulator.call("GET", f"/v1/people?email={BOT}", as_="probe").body["items"][0]["id"]
    result = probe(to_person_id=bot_id, timeout=20)
    assert result.get("failed") is not True, result
    assert result["reply_text"].startswith("barnacles status: ")


def test_in_a_group_room_the_probe_mentions_the_bot(emulator, probe):
    room = emulator.admin(
        "POST", "rooms", {"title": "fleet ops", "creator": "alice", "members": ["probe", "barnacles"]}
    )
    # webex_bot does not strip its own name from group-room messages (it resets bot_display_name after
    # reading it), so exact-match commands such as `status` see "barnacles status"; echo matches anyway.
    marker = f"probe-{uuid.uuid4().hex[:8]}"
    result = probe(room_id=room.body["id"], bot_email=BOT, text=f"echo {marker}", expect=marker, timeout=20)
    assert result.get("failed") is not True, result
    assert result["room_id"] == room.body["id"]
    sent = emulator.call("GET", f"/v1/messages/{result['sent_message_id']}", as_="probe").body
    assert sent["markdown"] == f"<@personEmail:{BOT}|Barnacles> echo {marker}"
    assert sent["mentionedPeople"]


def test_without_the_mention_a_group_room_probe_goes_unanswered(emulator, probe):
    room = emulator.admin("POST", "rooms", {"title": "quiet", "creator": "alice", "members": ["probe", "barnacles"]})
    result = probe(room_id=room.body["id"], bot_email=BOT, mention=False, timeout=3)
    assert result["failed"] is True
    assert result["msg"] == (
        f"no reply from bot {BOT} matching '.+' within 3s; last reply seen: none (the bot has never written in "
        "this room)"
    )


def test_a_blackholed_bot_times_out(emulator, probe):
    before = emulator.events("barnacles")
    emulator.admin("POST", "faults/barnacles", {"mode": "blackhole"})
    result = probe(timeout=3, interval=0.5)
    assert result["failed"] is True
    assert result["msg"].startswith(f"no reply from bot {BOT} matching '.+' within 3s; last reply seen: none since")
    assert result["sent_message_id"] and result["room_id"]
    assert result["reply_message_id"] is None
    assert result["attempts"] >= 3
    assert probe.seconds < 3 + OVERHEAD
    # The connection stayed up and authorized the whole time; the message was swallowed.
    after = emulator.events("barnacles")
    assert after["deliveries"][-1]["state"] == "blackholed"
    assert after["connects"] == before["connects"]
    assert any(c["authorized"] for c in emulator.connections("barnacles"))


def test_the_bot_answers_again_once_the_blackhole_is_gone(emulator, probe):
    result = probe(timeout=20)
    assert result.get("failed") is not True, result


def test_a_bad_token_fails_clearly(probe):
    wrong = "lab-token-nobody-" + uuid.uuid4().hex
    result = probe(token=wrong)
    assert result["failed"] is True
    assert result["msg"].startswith("the probe token was refused (401) by http://127.0.0.1:")
    assert result["sent_message_id"] is None
    assert wrong not in json.dumps(result)


def test_an_unreachable_base_url_fails_clearly(probe):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}/v1/"
    result = probe(base_url=base)
    assert result["failed"] is True
    assert result["msg"] == (
        f"cannot reach {base}: connection refused (POST {base}messages); check base_url and that the service is up"
    )


def test_rest_errors_of_the_probe_identity_fail_after_the_retries(emulator, probe):
    emulator.admin("POST", "faults/probe", {"mode": "rest_error", "status": 503})
    result = probe(timeout=20, max_retries=2)
    assert result["failed"] is True
    assert result["msg"].startswith(f"Webex answered 503 to POST {emulator.base}/v1/messages 3 times: Injected fault")
    assert result["msg"].endswith("giving up after 2 retries (max_retries)")
    assert probe.seconds < 20 + OVERHEAD


def test_rest_errors_stop_at_the_timeout(emulator, probe):
    emulator.admin("POST", "faults/probe", {"mode": "rest_error", "status": 500})
    result = probe(timeout=2, max_retries=10)
    assert result["failed"] is True
    assert "would fall after the timeout" in result["msg"]
    assert probe.seconds < 2 + OVERHEAD


def test_check_mode_sends_nothing(emulator, probe):
    settled = emulator.send("probe", "echo settled")  # and its answer: nothing else is on the way
    wait_for(lambda: emulator.reply_to(settled), 20, what="the answer to 'echo settled'")
    room = settled["roomId"]
    messages, delivered = len(emulator.messages("probe", room)), deliveries(emulator)
    result = probe(check=True)
    assert result["skipped"] is True
    assert result["changed"] is False
    assert result["msg"] == (
        f"check mode: the probe would send 'status' to bot {BOT} directly and wait up to 30s for a reply matching '.+'"
    )
    time.sleep(1)  # a message, had one been sent, would be stored and delivered by now
    assert len(emulator.messages("probe", room)) == messages
    assert deliveries(emulator) == delivered


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"room_id": "R"}, "with room_id, give bot_email or bot_id"),
        ({"room_id": "R", "to_person_email": BOT}, "parameters are mutually exclusive: room_id|to_person_email"),
        ({"expect": "("}, "expect: '(' is not a valid regular expression"),
    ],
)
def test_bad_arguments_fail_before_anything_is_sent(emulator, probe, args, message):
    delivered = deliveries(emulator)
    result = probe(**args)
    assert result["failed"] is True
    assert message in result["msg"]
    assert deliveries(emulator) == delivered
