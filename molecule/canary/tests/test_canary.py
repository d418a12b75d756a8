"""What the canaries left: barnacles marked and on the new release, its failed canary recorded."""

import json


def state(host, bot):
    return json.loads(host.file(f"/var/lib/botfleet/{bot}/state.json").content_string)


def release(host, bot):
    return json.loads(host.file(f"/opt/botfleet/{bot}/current/release.json").content_string)


def test_barnacles_runs_the_new_release_and_carries_a_passed_canary_mark(host):
    current = release(host, "barnacles")
    assert (current["resolved"]["webex-bot"], current["resolved"]["websockets"]) == ("1.3.1", "16.1")
    mark = state(host, "barnacles")["canary"]
    assert mark["verdict"] == "passed"
    assert mark["release"] == current["id"]
    assert host.service("botfleet-barnacles.service").is_running


def test_the_story_canary_is_recorded_as_failed_and_was_rolled_back(host):
    history = state(host, "barnacles")
    canaries = [v for v in history["verdicts"] if v["event"] == "canary"]
    # the story's, the good one, one dying in its watch window, one crash-looping after it, the good one again
    # from the good commit of the bot's code, the commit that breaks it, the good commit again
    assert [v["verdict"] for v in canaries] == ["failed", "passed", "failed", "passed", "passed", "failed", "passed"]
    assert canaries[0]["reason"].startswith("gate: probe: no reply from bot barnacles")
    events = [(e["event"], e.get("release")) for e in history["history"] if e["event"] != "built"]
    story = canaries[0]["release"]
    # activated the story's release, rolled back from it, then activated the good one
    assert [event for event, _release in events][:4] == ["activated", "activated", "rolled_back", "activated"]
    assert events[1] == ("activated", story)
    assert events[2][1] != story


def test_the_story_release_accepted_its_conflict_on_purpose(host):
    story_id = next(v["release"] for v in state(host, "barnacles")["verdicts"] if v["verdict"] == "failed")
    record = json.loads(host.file(f"/opt/botfleet/barnacles/releases/{story_id}/release.json").content_string)
    assert [c["message"] for c in record["accepted_conflicts"]] == [
        "webex-bot 1.0.8 requires websockets==11.0.3, installed 14.2"
    ]


def test_toodles_was_moved_only_by_the_rollout_then_rolled_back_without_a_package_source(host):
    current = release(host, "toodles")
    assert (current["resolved"]["webex-bot"], current["resolved"]["websockets"]) == ("1.0.8", "11.0.3")
    toodles = state(host, "toodles")
    assert "canary" not in toodles
    assert [v["event"] for v in toodles["verdicts"] if v["event"] in ("rollout", "canary", "rollback")] == [
        "rollout",
        "rollback",
    ]
    assert toodles["current"] == current["id"]
    assert toodles["history"][-1]["event"] == "rolled_back"
    assert not host.file("/var/cache/botfleet/wheelhouse").exists


def test_toodles_was_restarted_onto_the_old_release(host):
    assert host.service("botfleet-toodles.service").is_running
    pid = host.check_output("systemctl show -p MainPID --value botfleet-toodles.service")
    started = float(host.check_output(f"stat -c %Y /proc/{pid}"))
    switched = host.file("/opt/botfleet/toodles/current").mtime.timestamp()
    # /proc/PID's mtime has whole seconds here; the restart follows the switch.
    assert started >= int(switched)


def test_each_soak_verdict_is_recorded_with_the_rule_that_refused_it(host):
    soaks = [v for v in state(host, "barnacles")["verdicts"] if v["event"] == "soak"]
    assert [v["verdict"] for v in soaks] == ["failed", "failed", "failed", "passed"]
    assert "the first-message-after-idle test needs 1h00m" in soaks[0]["reason"]
    assert "barnacles reconnected 4 times in its soak" in soaks[1]["reason"]
    assert "barnacles restarted" in soaks[2]["reason"] and "last exit status 1" in soaks[2]["reason"]
    assert "answered the first message after" in soaks[3]["reason"]
    assert [(row["bot"], row["part"]) for row in soaks[3]["rows"]] == [("barnacles", "canary"), ("toodles", "baseline")]
    assert soaks[3]["rows"][0]["restarts"] == 0


def test_the_crash_loop_canary_was_restarted_by_systemd_and_the_watch_caught_the_other(host):
    canaries = [v for v in state(host, "barnacles")["verdicts"] if v["event"] == "canary"]
    assert "Judge the watch window" in canaries[2]["reason"]
    assert "exited with a failure 1 times" in canaries[2]["reason"]


def test_barnacles_runs_the_good_commit_from_its_release_and_the_broken_one_reused_its_venv(host):
    current = release(host, "barnacles")
    assert current["source"]["kind"] == "git"
    assert current["source"]["subject"] == "Demo bot answers status and echo"
    unit = host.file("/etc/systemd/system/botfleet-barnacles.service").content_string
    assert "WorkingDirectory=/opt/botfleet/barnacles/current/app" in unit.splitlines()
    pid = host.check_output("systemctl show -p MainPID --value botfleet-barnacles.service")
    assert host.check_output(f"readlink /proc/{pid}/cwd") == f"/opt/botfleet/barnacles/releases/{current['id']}/app"
    broken_id = [v for v in state(host, "barnacles")["verdicts"] if v["event"] == "canary"][5]["release"]
    broken = json.loads(host.file(f"/opt/botfleet/barnacles/releases/{broken_id}/release.json").content_string)
    assert broken["source"]["subject"] == "Reword the status reply"
    # Only the commit changed: its venv is the good release's, copied, not installed.
    assert broken["venv_reused_from"] == current["id"] and broken["installer"] is None
    assert (
        "is fine: "
        in host.file(f"/opt/botfleet/barnacles/releases/{broken_id}/app/botfleet_demo_bot/commands.py").content_string
    )
    rolled_back = [e for e in state(host, "barnacles")["history"] if e["event"] == "rolled_back"][-1]
    assert rolled_back["release"] == current["id"]
    assert rolled_back["commit"].endswith(" Demo bot answers status and echo")


def test_the_playbooks_reached_the_vm_over_ssh_as_deploy_and_became_root_with_sudo(host):
    sshd = host.run("journalctl --no-pager -o cat -u ssh.service").stdout
    assert "Accepted publickey for deploy from 127.0.0.1" in sshd
    assert "for root" not in sshd
    sudo = host.run("journalctl --no-pager -o cat _COMM=sudo").stdout
    assert "deploy : PWD=/home/deploy ; USER=root ; COMMAND=/bin/sh -c 'echo BECOME-SUCCESS-" in sudo
