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
    assert [v["verdict"] for v in canaries] == ["failed", "passed"]
    assert canaries[0]["reason"].startswith("gate: probe: no reply from bot barnacles")
    events = [(e["event"], e.get("release")) for e in history["history"] if e["event"] != "built"]
    story = canaries[0]["release"]
    # activated the story's release, rolled back from it, then activated the good one
    assert [event for event, _release in events] == ["activated", "activated", "rolled_back", "activated"]
    assert events[1] == ("activated", story)
    assert events[2][1] != story


def test_the_story_release_accepted_its_conflict_on_purpose(host):
    story_id = next(v["release"] for v in state(host, "barnacles")["verdicts"] if v["verdict"] == "failed")
    record = json.loads(host.file(f"/opt/botfleet/barnacles/releases/{story_id}/release.json").content_string)
    assert [c["message"] for c in record["accepted_conflicts"]] == [
        "webex-bot 1.0.8 requires websockets==11.0.3, installed 14.2"
    ]


def test_toodles_stays_on_the_old_release(host):
    current = release(host, "toodles")
    assert current["resolved"]["webex-bot"] == "1.0.8"
    assert "canary" not in state(host, "toodles")
