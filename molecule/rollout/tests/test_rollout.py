"""After the rollout: every bot on the new release but toodles, which botfleetctl rolled back on its VM;
the failed batch's history recorded."""

import json

BOTS = {
    "botfleet-mol-rollout-vm1": ["barnacles", "toodles", "money_ball"],
    "botfleet-mol-rollout-vm2": ["jarvis", "msoar"],
}


def read(host, path):
    return json.loads(host.file(path).content_string)


def test_every_bot_runs_the_new_release_but_the_one_rolled_back_on_its_vm(host):
    for bot in BOTS[host.backend.get_hostname()]:
        release = read(host, f"/opt/botfleet/{bot}/current/release.json")
        expected = ("1.0.8", "11.0.3") if bot == "toodles" else ("1.3.1", "16.1")
        assert (release["resolved"]["webex-bot"], release["resolved"]["websockets"]) == expected, bot
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


def test_batch_one_moved_once_then_botfleetctl_rolled_it_back(host):
    if "toodles" in BOTS[host.backend.get_hostname()]:
        state = read(host, "/var/lib/botfleet/toodles/state.json")
        assert [e["event"] for e in state["history"] if e["event"] in ("activated", "rolled_back")] == [
            "activated",
            "activated",
            "rolled_back",
        ]


def test_botfleetctl_rolled_toodles_back_whole_and_recorded_who(host):
    if "toodles" not in BOTS[host.backend.get_hostname()]:
        return
    state = read(host, "/var/lib/botfleet/toodles/state.json")
    switch = state["history"][-1]
    assert (switch["event"], switch["by"], switch["via"]) == ("rolled_back", "oncall", "botfleetctl")
    assert (state["current"], state["previous"]) == (switch["release"], switch["from"])
    verdict = state["verdicts"][-1]
    assert (verdict["event"], verdict["verdict"], verdict["by"]) == ("rollback", "passed", "oncall")
    # The release's own unit is the installed one: venv and unit went back together.
    current = host.file("/opt/botfleet/toodles/current").linked_to
    assert current.endswith("/releases/" + switch["release"])
    installed = host.file("/etc/systemd/system/botfleet-toodles.service").content_string
    assert installed == host.file(f"{current}/botfleet-toodles.service").content_string
    assert host.service("botfleet-toodles.service").is_running
    assert not host.file("/var/lib/botfleet/toodles/lease.json").exists


def test_botfleetctl_reads_for_the_botfleet_group_and_changes_only_as_root(host):
    if "toodles" not in BOTS[host.backend.get_hostname()]:
        return
    status = host.run("runuser -u botfleet -- botfleetctl --json status toodles")
    assert status.rc == 0, status.stderr
    toodles = json.loads(status.stdout)["toodles"]
    assert toodles["current_release"]["versions"]["webex-bot"] == "1.0.8"
    assert toodles["unit"]["active_state"] == "active"
    refused = host.run("runuser -u botfleet -- botfleetctl rollback toodles")
    assert refused.rc == 4
    assert "run it as root" in refused.stderr


def test_barnacles_runs_from_a_directory_source_its_tree_without_git(host):
    if "barnacles" not in BOTS[host.backend.get_hostname()]:
        return
    source = read(host, "/opt/botfleet/barnacles/current/release.json")["source"]
    assert source["kind"] == "dir" and source["commit"] is None and len(source["id"]) == 64
    app = "/opt/botfleet/barnacles/current/app"
    assert host.file(f"{app}/webex_bots/demo.py").exists and not host.file(f"{app}/.git").exists
    unit = host.file("/etc/systemd/system/botfleet-barnacles.service").content_string
    assert f"WorkingDirectory={app}" in unit
    assert "ExecStart=/opt/botfleet/barnacles/current/venv/bin/python webex_bots/demo.py" in unit
    # The VM's copy of the tree stays while a release of it is kept.
    archives = host.run("ls /opt/botfleet/.sources").stdout.split()
    assert f"{source['id']}.tar" in archives
