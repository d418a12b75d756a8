"""Verdicts quote failures: no part of a secret in what the journal module returns or writes.

A probe's failure (an answer that echoed a token, cut short) becomes a verdict's reason, which the
journal module records in state.json and returns; fleet-status.json quotes state.json. The check is
that no piece of 8 characters of a secret is in any of them, and that state.json is 0640.
"""

from __future__ import annotations

import grp
import json
import os
import random
import stat
import string
import subprocess
import sys

import pytest
from conftest import ansible_env

from ansible_collections.botfleet.deploy.plugins.filter.botfleet import scrub
from ansible_collections.botfleet.deploy.plugins.module_utils.journal import record_verdict
from ansible_collections.botfleet.deploy.plugins.module_utils.release import ReleaseStore
from ansible_collections.botfleet.deploy.plugins.module_utils.scrub import Scrubber, record_secrets
from ansible_collections.botfleet.deploy.plugins.plugin_utils.report import status_report
from ansible_collections.botfleet.deploy.plugins.plugin_utils.secrets import host_secrets

PIECE = 8
ALPHABET = string.ascii_letters + string.digits + "-_."
RELEASE = "3f9c2a61b0d4"


def leaked_pieces(secret, text):
    return sorted({secret[i : i + PIECE] for i in range(len(secret) - PIECE + 1) if secret[i : i + PIECE] in text})


def random_secret(rng):
    return "".join(rng.choices(ALPHABET, k=rng.randint(20, 200)))


def probe_failure(rng, secret):
    """What a gate reason can quote of an HTTP answer: the secret, whole or cut, in one of its shapes."""
    cut = secret[: rng.randint(PIECE, len(secret))]
    return rng.choice(
        [
            f"gate: probe: POST /v1/messages answered something other than JSON ('<p>{cut}')",
            f"gate: probe: no reply matching '^barnacles status: ' within 20s (last: 'token={cut}')",
            f"gate: probe: HTTP 400: bad header {cut} (trackingId ROUTER_{cut})",
            f"gate: unit: journal: websockets: auth {cut}...",
        ]
    )


def record(tmp_path, reason, redact, state_group="botfleet"):
    """A gate verdict recorded as the journal module records it: the entry and the written state scrubbed."""
    scrubber = Scrubber(record_secrets(redact))
    store = ReleaseStore(str(tmp_path / "opt"), str(tmp_path / "state"), "barnacles", 300)
    store.scrub = scrubber
    store.state_group = state_group
    entry = record_verdict(store, {"event": "gate", "verdict": "failed", "release_id": RELEASE, "reason": reason})
    return scrubber({"recorded": entry})


def test_fuzz_a_recorded_verdict_keeps_no_part_of_a_secret(tmp_path):
    rng = random.Random("botfleet-release-scrub")  # noqa: S311 - seeded on purpose: reproducible
    state_file = tmp_path / "state" / "barnacles" / "state.json"
    for _round in range(300):
        secrets = [random_secret(rng) for _secret in range(rng.randint(1, 3))]
        leaked = rng.choice(secrets)
        result = record(tmp_path, probe_failure(rng, leaked), secrets)
        written = state_file.read_text(encoding="utf-8")
        for secret in secrets:
            assert leaked_pieces(secret, json.dumps(result)) == [], (secret, result["recorded"]["reason"])
            assert leaked_pieces(secret, written) == [], secret
        # What status.yml makes of it: the report quotes the state's verdicts.
        state = json.loads(written)
        report = status_report([{"bot": "barnacles", "current": RELEASE, "last_probe": state["last_probe"]}])
        assert leaked_pieces(leaked, json.dumps(report)) == []


def test_a_verdict_recorded_before_redact_is_scrubbed_by_the_next_write(tmp_path):
    # state.json written by the old code kept the reason as given; the next write masks it.
    secret = "lab-token-Zq0x-0123456789-abcdefgh"
    record(tmp_path, f"gate: probe: answered {secret[:20]}", [])
    state_file = tmp_path / "state" / "barnacles" / "state.json"
    assert secret[:20] in state_file.read_text(encoding="utf-8")
    record(tmp_path, "gate: probe: no reply", [secret])
    assert leaked_pieces(secret, state_file.read_text(encoding="utf-8")) == []


def test_state_json_is_0640_and_of_the_state_group(tmp_path):
    group = grp.getgrgid(os.getgid() if os.getgid() != 0 else 1).gr_name
    record(tmp_path, "gate: probe: no reply", [], state_group=group)
    info = os.stat(tmp_path / "state" / "barnacles" / "state.json")
    assert stat.S_IMODE(info.st_mode) == 0o640
    assert grp.getgrgid(info.st_gid).gr_name == group


def test_state_json_keeps_the_writers_group_when_the_host_has_no_such_group(tmp_path):
    record(tmp_path, "gate: probe: no reply", [], state_group="no-such-group-here")
    info = os.stat(tmp_path / "state" / "barnacles" / "state.json")
    assert stat.S_IMODE(info.st_mode) == 0o640
    assert info.st_gid == os.getgid()


@pytest.mark.parametrize(
    ("variables", "secrets"),
    [
        ({}, []),
        ({"botfleet_secrets": {"WEBEX_BOT_TOKEN": "t0ken-of-the-bot", "PORT": 8790}}, ["t0ken-of-the-bot", "8790"]),
        (
            {"botfleet_probe": {"token": "probe-t0ken"}, "botfleet_notify": {"token": "notify-t0ken"}},
            ["probe-t0ken", "notify-t0ken"],
        ),
        ({"botfleet_probe": {}, "botfleet_notify": {"token": ""}, "botfleet_secrets": {"EMPTY": None}}, []),
    ],
)
def test_host_secrets_are_the_values_of_botfleet_secrets_and_the_tokens(variables, secrets):
    assert host_secrets(variables) == secrets


def test_the_scrub_filter_takes_a_mapping_or_a_list_of_secrets():
    token = "lab-token-of-barnacles-0123456789"
    state = {"canary": {"reason": f"probe: answered {token[:12]}"}, "history": [f"x {token}"]}
    assert scrub(state, {"WEBEX_BOT_TOKEN": token}) == {
        "canary": {"reason": "probe: answered ********"},
        "history": ["x ********"],
    }
    assert scrub(state, [[token], None, ""]) == scrub(state, {"WEBEX_BOT_TOKEN": token})
    assert scrub("Authorization: Bearer abc.def", []) == "Authorization: Bearer ********"


def run_journal(tmp_path, args, extra_vars):
    """The journal task through ansible (action plugin and module), with the host's ``extra_vars``."""
    argv = [
        os.path.join(os.path.dirname(sys.executable), "ansible"),
        "localhost",
        "-m",
        "botfleet.deploy.journal",
        "-a",
        json.dumps(args),
        "-e",
        json.dumps({"ansible_python_interpreter": sys.executable, **extra_vars}),
    ]
    proc = subprocess.run(
        argv,
        env=ansible_env(ANSIBLE_LOAD_CALLBACK_PLUGINS="1"),
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=120,
    )
    return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"], proc.stdout + proc.stderr


def test_a_verdict_recorded_by_a_task_without_redact_is_scrubbed_of_the_hosts_secrets(tmp_path):
    # The gate role records its verdict without redact: the journal action adds the host's secrets.
    bot_token = "bot-t0ken-" + "Q" * 40
    probe_token = "probe-t0ken-" + "R" * 40
    args = {
        "bot": "barnacles",
        "root": str(tmp_path / "opt"),
        "state_dir": str(tmp_path / "state"),
        "record": {
            "event": "gate",
            "verdict": "failed",
            "release_id": RELEASE,
            "reason": f"probe: HTTP 502 <p>{bot_token[:30]}</p> then {probe_token[:9]}",
        },
    }
    result, output = run_journal(
        tmp_path,
        args,
        {"botfleet_secrets": {"WEBEX_BOT_TOKEN": bot_token}, "botfleet_probe": {"token": probe_token}},
    )
    assert result["recorded"]["reason"] == "probe: HTTP 502 <p>********</p> then ********"
    written = (tmp_path / "state" / "barnacles" / "state.json").read_text(encoding="utf-8")
    for secret in (bot_token, probe_token):
        assert leaked_pieces(secret, written) == []
        assert leaked_pieces(secret, output) == []


def test_a_short_value_among_the_secrets_does_not_mask_release_ids_and_times(tmp_path):
    # PORT: "8790" kept in botfleet_secrets must not turn state.json's release ids into masks.
    result = record(tmp_path, "gate: probe: no reply", ["3f9c", "2026", "lab-token-Zq0x-0123456789"])
    state = json.loads((tmp_path / "state" / "barnacles" / "state.json").read_text(encoding="utf-8"))
    assert state["last_probe"]["release"] == RELEASE
    assert result["recorded"]["at"].startswith("20")
    assert scrub({"release": RELEASE}, ["3f9c"]) == {"release": RELEASE}
