"""An adoption in the journal: the verdict, and where the bot logged before (status.yml shows it)."""

from __future__ import annotations

from ansible_collections.botfleet.deploy.plugins.module_utils.journal import apply_verdict, verdict_entry


def test_a_passed_adoption_keeps_the_old_log_and_a_failed_one_does_not():
    record = {
        "event": "adopt",
        "verdict": "passed",
        "release_id": "70b9d239eaa3",
        "reason": "adopted from pid 79",
        "log": "/home/ir/pub/IR/logs/barnacles.log",
    }
    state = {}
    entry = verdict_entry(record, "70b9d239eaa3", now=0)
    apply_verdict(state, entry, record, "70b9d239eaa3")
    assert state["verdicts"] == [entry]
    assert state["adopted_from"] == {
        "at": entry["at"],
        "release": "70b9d239eaa3",
        "log": "/home/ir/pub/IR/logs/barnacles.log",
    }
    failed = dict(record, verdict="failed")
    other = {}
    apply_verdict(other, verdict_entry(failed, None, now=0), failed, None)
    assert "adopted_from" not in other
