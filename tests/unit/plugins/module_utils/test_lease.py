"""The run lease's decisions and files, with an injected clock and no Ansible."""

from __future__ import annotations

import calendar
import json
import os
import threading
import time

import pytest

from ansible_collections.botfleet.deploy.plugins.module_utils import lease as lease_module
from ansible_collections.botfleet.deploy.plugins.module_utils.lease import (
    LeaseError,
    RunLease,
    describe,
    read_lease,
    run_lease,
)

NOW = calendar.timegm((2026, 11, 28, 7, 1, 2, 0, 0, 0))
ALICE = {"run_id": "ctl1:4242:b00t-100", "controller": "ctl1", "pid": 4242, "user": "alice", "playbook": "rollout.yml"}
BOB = {"run_id": "ctl2:5151:b00t-200", "controller": "ctl2", "pid": 5151, "user": "bob", "playbook": "canary.yml"}
# Another run on alice's controller: there the controller can tell whether alice's run is gone.
CAROL = {"run_id": "ctl1:6060:b00t-300", "controller": "ctl1", "pid": 6060, "user": "carol", "playbook": None}
ALICE_LEASE = {
    "holder": ALICE,
    "acquired": "2026-11-28T07:01:02Z",
    "renewed": "2026-11-28T07:01:02Z",
    "expires": "2026-11-28T08:01:02Z",
}
ALICE_HELD = (
    "jarvis is leased to rollout.yml run by alice on ctl1 (pid 4242) since 2026-11-28T07:01:02Z, until 08:01:02Z"
)


class Clock:
    def __init__(self, now=NOW):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def state_dir(tmp_path):
    return tmp_path / "state"


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def lease_for(state_dir, clock):
    def make(holder, **kwargs):
        return RunLease(str(state_dir), "jarvis", holder, clock=clock, **kwargs)

    return make


def lease_file(state_dir):
    return state_dir / "jarvis" / "lease.json"


def stored(state_dir):
    return json.loads(lease_file(state_dir).read_text())


def write_lease(state_dir, lease):
    lease_file(state_dir).parent.mkdir(parents=True, exist_ok=True)
    lease_file(state_dir).write_text(json.dumps(lease))


def test_a_free_bot_is_leased_to_the_run(lease_for, state_dir):
    result = lease_for(ALICE).hold()
    assert result == {"changed": True, "bot": "jarvis", "lease": ALICE_LEASE, "holder": None, "broken": False}
    assert stored(state_dir) == ALICE_LEASE
    assert oct(os.stat(lease_file(state_dir)).st_mode & 0o777) == "0o644"
    assert read_lease(str(state_dir), "jarvis") == ALICE_LEASE


def test_the_same_run_renews_its_lease_without_a_change(lease_for, state_dir, clock):
    lease_for(ALICE).hold()
    clock.now = NOW + 600
    result = lease_for(ALICE, ttl=7200).hold()
    assert result["changed"] is False
    assert result["holder"] == ALICE
    renewed = dict(ALICE_LEASE, renewed="2026-11-28T07:11:02Z", expires="2026-11-28T09:11:02Z")
    assert result["lease"] == renewed
    assert stored(state_dir) == renewed


def test_a_live_lease_of_another_run_is_refused_at_once_naming_its_holder(lease_for, state_dir, clock):
    lease_for(ALICE).hold()
    clock.now = NOW + 60
    started = time.monotonic()
    with pytest.raises(LeaseError) as refused:
        lease_for(BOB).hold()
    assert time.monotonic() - started < 1
    assert str(refused.value) == (
        f"{ALICE_HELD}; wait for it to finish, or if that run is gone pass -e botfleet_break_lease=true on ctl1 "
        "(where its pid can be checked) or after 2026-11-28T08:01:02Z, when the lease expires"
    )
    assert refused.value.result == {"bot": "jarvis", "lease": ALICE_LEASE, "holder": ALICE, "broken": False}
    assert stored(state_dir) == ALICE_LEASE


def test_break_lease_never_breaks_a_live_lease(lease_for, state_dir, clock):
    lease_for(ALICE).hold()
    clock.now = NOW + 60
    with pytest.raises(LeaseError) as elsewhere:
        lease_for(BOB).hold(break_lease=True)
    assert "botfleet_break_lease breaks only an expired lease or one whose run is gone" in str(elsewhere.value)
    # On alice's controller her run was checked and is not gone: it still runs.
    with pytest.raises(LeaseError) as here:
        lease_for(CAROL).hold(break_lease=True)
    assert str(here.value) == (
        f"{ALICE_HELD}; botfleet_break_lease breaks only an expired lease or one whose run is gone: "
        "that run is still running on ctl1; wait for it to finish"
    )
    assert stored(state_dir) == ALICE_LEASE
    assert not (state_dir / "jarvis" / "state.json").exists()


def test_an_expired_lease_is_not_broken_without_break_lease(lease_for, state_dir, clock):
    lease_for(ALICE).hold()
    clock.now = NOW + 3600
    with pytest.raises(LeaseError) as refused:
        lease_for(BOB).hold()
    assert str(refused.value) == (
        f"{ALICE_HELD}; the lease has expired; pass -e botfleet_break_lease=true to break the lease and take it over"
    )
    assert refused.value.result["holder"] == ALICE
    assert stored(state_dir) == ALICE_LEASE


def test_an_expired_lease_is_broken_on_purpose_and_recorded(lease_for, state_dir, clock):
    history = [{"event": "activated", "release": "3f9c2a61b0d4", "from": None, "at": "2026-11-27T22:00:00Z"}]
    lease_for(ALICE).hold()
    (state_dir / "jarvis" / "state.json").write_text(
        json.dumps({"bot": "jarvis", "current": "3f9c2a61b0d4", "previous": None, "history": history})
    )
    clock.now = NOW + 3601
    result = lease_for(BOB).hold(break_lease=True)
    assert result["changed"] is True
    assert result["broken"] is True
    assert result["holder"] == ALICE
    assert result["lease"]["holder"] == BOB
    assert result["lease"]["acquired"] == "2026-11-28T08:01:03Z"
    assert result["msg"] == (
        "jarvis was leased to rollout.yml run by alice on ctl1 (pid 4242) since 2026-11-28T07:01:02Z, until 08:01:02Z; "
        "the lease had expired, so this run broke the lease and holds it"
    )
    assert stored(state_dir) == result["lease"]
    state = json.loads((state_dir / "jarvis" / "state.json").read_text())
    assert state["current"] == "3f9c2a61b0d4"
    assert state["history"][:-1] == history
    event = state["history"][-1]
    assert {key: event[key] for key in ("event", "holder", "by", "reason")} == {
        "event": "lease_broken",
        "holder": ALICE,
        "by": BOB,
        "reason": "expired",
    }
    assert time.strptime(event["at"], "%Y-%m-%dT%H:%M:%SZ")
    # The state file is written as the release store writes it, without a release root next to it.
    assert sorted(os.listdir(state_dir / "jarvis")) == [".lock", "lease.json", "state.json"]


def test_a_gone_holder_is_named_and_broken_only_on_purpose(lease_for, state_dir, clock):
    lease_for(ALICE).hold()
    clock.now = NOW + 60
    with pytest.raises(LeaseError) as refused:
        lease_for(CAROL, gone=[ALICE["run_id"]]).hold()
    assert str(refused.value) == (
        f"{ALICE_HELD}; that run is gone (pid 4242 on ctl1 has ended); pass -e botfleet_break_lease=true to break "
        "the lease and take it over"
    )
    assert stored(state_dir) == ALICE_LEASE
    result = lease_for(CAROL, gone=[ALICE["run_id"]]).hold(break_lease=True)
    assert result["broken"] is True
    assert stored(state_dir)["holder"] == CAROL
    history = json.loads((state_dir / "jarvis" / "state.json").read_text())["history"]
    assert [(e["event"], e["reason"], e["holder"]["run_id"]) for e in history] == [
        ("lease_broken", "gone", ALICE["run_id"])
    ]


def test_a_gone_judgement_about_another_run_breaks_nothing(lease_for, state_dir, clock):
    lease_for(ALICE).hold()
    with pytest.raises(LeaseError, match="still running on ctl1"):
        lease_for(CAROL, gone=["ctl1:1:other-run"]).hold(break_lease=True)
    assert stored(state_dir) == ALICE_LEASE


def test_a_run_releases_its_own_lease(lease_for, state_dir):
    lease_for(ALICE).hold()
    result = lease_for(ALICE).release()
    assert result == {"changed": True, "bot": "jarvis", "lease": None, "holder": ALICE, "broken": False}
    assert not lease_file(state_dir).exists()
    assert lease_for(ALICE).release()["changed"] is False


def test_releasing_never_removes_the_lease_of_another_run(lease_for, state_dir):
    lease_for(ALICE).hold()
    warnings = []
    result = lease_for(BOB, warn=warnings.append).release()
    assert result == {"changed": False, "bot": "jarvis", "lease": ALICE_LEASE, "holder": ALICE, "broken": False}
    assert warnings == [f"left the lease in place, since this run does not hold it: {ALICE_HELD}"]
    assert stored(state_dir) == ALICE_LEASE


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{", "is not valid JSON"),
        ("[]", "is not a botfleet run lease (a JSON list, not an object)"),
        ("null", "is not a botfleet run lease (a JSON NoneType, not an object)"),
        ('{"holder": "alice"}', "(no holder object)"),
        (json.dumps(dict(ALICE_LEASE, holder=dict(ALICE, run_id=""))), "(the holder has no run_id)"),
        (json.dumps(dict(ALICE_LEASE, holder=dict(ALICE, pid="4242"))), "(the holder's pid is not a number)"),
        (json.dumps(dict(ALICE_LEASE, expires="tomorrow")), "(expires is not a timestamp like 2026-11-28T07:01:02Z)"),
        (json.dumps({key: value for key, value in ALICE_LEASE.items() if key != "renewed"}), "(renewed is not"),
    ],
)
def test_a_damaged_lease_file_is_named_with_its_repair(lease_for, state_dir, content, problem):
    lease_file(state_dir).parent.mkdir(parents=True)
    lease_file(state_dir).write_text(content)
    for attempt in (lambda: lease_for(BOB).hold(break_lease=True), lease_for(ALICE).release):
        with pytest.raises(LeaseError) as damaged:
            attempt()
        assert str(damaged.value).startswith(f"{lease_file(state_dir)} ")
        assert problem in str(damaged.value)
        assert str(damaged.value).endswith("; remove it if no botfleet run is active on jarvis")
        assert damaged.value.result["bot"] == "jarvis"
    assert lease_file(state_dir).read_text() == content


def test_check_mode_writes_nothing_not_even_the_lock(lease_for, state_dir, clock):
    taken = lease_for(ALICE, check_mode=True).hold()
    assert taken["changed"] is True
    assert taken["lease"] == ALICE_LEASE
    assert not state_dir.exists()

    write_lease(state_dir, ALICE_LEASE)
    clock.now = NOW + 7200
    broken = lease_for(BOB, check_mode=True).hold(break_lease=True)
    assert (broken["changed"], broken["broken"], broken["holder"]) == (True, True, ALICE)
    released = lease_for(ALICE, check_mode=True).release()
    assert released["changed"] is True
    assert sorted(os.listdir(state_dir / "jarvis")) == ["lease.json"]
    assert stored(state_dir) == ALICE_LEASE


def test_of_two_runs_racing_for_the_lease_one_wins(lease_for, state_dir, monkeypatch):
    # Widen the window between reading the lease and writing it: without the lock both would win.
    real_read = lease_module.read_lease

    def slow_read(*args):
        found = real_read(*args)
        time.sleep(0.3)
        return found

    monkeypatch.setattr(lease_module, "read_lease", slow_read)
    outcomes = {}
    start = threading.Barrier(2)

    def ask(holder):
        start.wait()
        try:
            outcomes[holder["user"]] = lease_for(holder).hold()["changed"]
        except LeaseError as exc:
            outcomes[holder["user"]] = str(exc)

    threads = [threading.Thread(target=ask, args=(holder,)) for holder in (ALICE, BOB)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winner = stored(state_dir)["holder"]["user"]
    loser = "bob" if winner == "alice" else "alice"
    assert outcomes[winner] is True
    assert outcomes[loser].startswith(f"jarvis is leased to {stored(state_dir)['holder']['playbook']} run by {winner}")


def test_a_break_that_cannot_be_recorded_does_not_happen(lease_for, state_dir, clock):
    lease_for(ALICE).hold()
    (state_dir / "jarvis" / "state.json").write_text("[]")
    clock.now = NOW + 7200
    with pytest.raises(LeaseError) as refused:
        lease_for(BOB).hold(break_lease=True)
    assert str(refused.value).startswith("the lease of jarvis was not broken, since the break cannot be recorded: ")
    assert f"{state_dir / 'jarvis' / 'state.json'} is not a botfleet state file" in str(refused.value)
    assert stored(state_dir) == ALICE_LEASE


def test_the_expiry_names_its_date_when_it_is_another_day():
    lease = dict(ALICE_LEASE, acquired="2026-11-28T23:30:00Z", expires="2026-11-29T00:30:00Z")
    assert describe("jarvis", lease).endswith("since 2026-11-28T23:30:00Z, until 2026-11-29T00:30:00Z")
    assert describe("jarvis", dict(lease, holder=CAROL)).startswith("jarvis is leased to a run by carol on ctl1")


def test_read_lease_of_a_bot_without_one(state_dir):
    assert read_lease(str(state_dir), "jarvis") is None


PARAMS = {"bot": "jarvis", "state": "held", "playbook": "rollout.yml", "ttl": 3600, "break_lease": False}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"bot": "../etc"}, "not usable in paths and unit names"),
        ({"ttl": 0}, "ttl=0: a lease must last at least 1 second"),
        ({"_holder": None}, "from its action plugin (the holder has no run_id)"),
        ({"_holder": {"run_id": "x", "controller": "c", "user": "u"}}, "(the holder's pid is not a number)"),
    ],
)
def test_bad_parameters_are_refused_before_anything_is_written(state_dir, params, fragment):
    hidden = {key: value for key, value in ALICE.items() if key != "playbook"}
    with pytest.raises(LeaseError) as refused:
        run_lease(dict(PARAMS, state_dir=str(state_dir), _holder=hidden) | params)
    assert fragment in str(refused.value)
    assert not state_dir.exists()


def test_run_lease_passes_the_gone_judgement_and_the_playbook(state_dir, clock):
    write_lease(state_dir, ALICE_LEASE)
    hidden = {key: value for key, value in CAROL.items() if key != "playbook"}
    params = dict(PARAMS, state_dir=str(state_dir), break_lease=True, _holder=dict(hidden, gone=[ALICE["run_id"]]))
    result = run_lease(params, clock=clock)
    assert result["broken"] is True
    assert stored(state_dir)["holder"] == dict(hidden, playbook="rollout.yml")
    assert run_lease(dict(params, state="released"), clock=clock)["changed"] is True
    assert not lease_file(state_dir).exists()
