"""After the rollout: every bot on the new release, the failed batch's history recorded."""

import json

BOTS = {
    "botfleet-mol-rollout-vm1": ["barnacles", "toodles", "money_ball"],
    "botfleet-mol-rollout-vm2": ["jarvis", "msoar"],
}


def read(host, path):
    return json.loads(host.file(path).content_string)


def test_every_bot_runs_the_new_release(host):
    for bot in BOTS[host.backend.get_hostname()]:
        release = read(host, f"/opt/botfleet/{bot}/current/release.json")
        assert (release["resolved"]["webex-bot"], release["resolved"]["websockets"]) == ("1.3.1", "16.1"), bot
        assert host.service(f"botfleet-{bot}.service").is_running, bot


def test_the_failed_batch_was_rolled_back_and_recorded(host):
    bots = BOTS[host.backend.get_hostname()]
    for bot in {"money_ball", "jarvis"} & set(bots):
        state = read(host, f"/var/lib/botfleet/{bot}/state.json")
        rollouts = [v for v in state["verdicts"] if v["event"] == "rollout"]
        # money_ball passed its own gate, then went back with its batch; jarvis failed its gate.
        expected = ["passed", "failed", "passed"] if bot == "money_ball" else ["failed", "passed"]
        assert [v["verdict"] for v in rollouts] == expected, bot
        failed = next(v for v in rollouts if v["verdict"] == "failed")
        assert failed["reason"].startswith("jarvis: gate: probe: no reply from bot jarvis"), bot
        events = [e["event"] for e in state["history"] if e["event"] in ("activated", "rolled_back")]
        assert events == ["activated", "activated", "rolled_back", "activated"], bot


def test_batch_one_moved_once(host):
    if "toodles" in BOTS[host.backend.get_hostname()]:
        state = read(host, "/var/lib/botfleet/toodles/state.json")
        assert [e["event"] for e in state["history"] if e["event"] in ("activated", "rolled_back")] == [
            "activated",
            "activated",
        ]
