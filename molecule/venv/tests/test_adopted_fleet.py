"""The five bots the story ran by hand, adopted: checked on the real VM."""

import json
import re

BOTS = ["barnacles", "toodles", "money_ball", "jarvis", "msoar"]
CHECKOUT = "/home/ir/pub/IR"


def main_pid(host, bot):
    return int(host.check_output(f"systemctl show -p MainPID --value botfleet-{bot}.service"))


def legacy_versions(host):
    """What the shared venv of the hand-started bots has (and so what they had loaded)."""
    script = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    versions = json.loads(host.check_output(f"{CHECKOUT}/.venv/bin/python -I -c \"{script}\""))
    # Canonical names, as release.json has them.
    return {
        re.sub(r"[-_.]+", "-", name).lower(): version
        for name, version in versions.items()
        if name not in ("pip", "setuptools", "wheel")
    }


def first_release(host, bot):
    state = json.loads(host.file(f"/var/lib/botfleet/{bot}/state.json").content_string)
    first = next(entry for entry in state["history"] if entry["event"] == "activated")
    return state, json.loads(host.file(f"/opt/botfleet/{bot}/releases/{first['release']}/release.json").content_string)


def test_no_bot_runs_by_hand_any_more_and_each_unit_runs_its_script(host):
    assert host.run("pgrep -u ir -f webex_bots/").stdout == ""
    for bot in BOTS:
        assert host.service(f"botfleet-{bot}.service").is_running, bot
        pid = main_pid(host, bot)
        assert host.process.get(pid=pid).user == "botfleet", bot
        cmdline = host.file(f"/proc/{pid}/cmdline").content_string.split("\0")
        assert cmdline[:2] == [f"/opt/botfleet/{bot}/current/venv/bin/python", f"webex_bots/{bot}.py"], bot


def test_the_first_release_has_exactly_the_versions_and_code_the_bots_ran(host):
    versions = legacy_versions(host)
    assert versions["webex-bot"] == "1.0.8" and versions["websockets"] == "11.0.3"
    commit = host.check_output(f"cat {CHECKOUT}/.git/refs/heads/main")
    for bot in BOTS:
        state, release = first_release(host, bot)
        assert release["resolved"] == versions, bot
        assert release["source"]["commit"] == commit, bot
        adopted = [v for v in state["verdicts"] if v["event"] == "adopt"]
        assert [v["verdict"] for v in adopted] == ["passed"], bot
        assert state["adopted_from"]["log"] == f"{CHECKOUT}/logs/{bot}.log", bot


def test_the_old_logs_stay_and_no_secret_is_in_a_release_or_the_state(host):
    for bot in BOTS:
        assert host.file(f"{CHECKOUT}/logs/{bot}.log").exists, bot
        env = host.file(f"/etc/botfleet/{bot}.env")
        assert env.mode == 0o600 and env.user == "root", bot
        assert f"lab-{bot}-token" in env.content_string, bot
        assert f"lab-{bot}-token" not in host.file(f"/opt/botfleet/{bot}/current/environment").content_string, bot
        assert f"lab-{bot}-token" not in host.file(f"/var/lib/botfleet/{bot}/state.json").content_string, bot


def test_msoar_has_its_failed_adoption_in_its_history(host):
    state = json.loads(host.file("/var/lib/botfleet/msoar/state.json").content_string)
    failed = [entry for entry in state["history"] if entry["event"] == "adopt" and entry["verdict"] == "failed"]
    assert len(failed) == 1
    # Its unit crash-looped without its token: the gate caught it, and the switch was taken back.
    assert failed[0]["reason"].startswith("gate: "), failed[0]["reason"]
    assert [entry["event"] for entry in state["history"]].count("activated") == 2
