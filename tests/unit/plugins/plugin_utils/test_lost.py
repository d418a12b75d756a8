"""What the lost_hosts callback says about each bot whose VM was lost mid-run."""

from __future__ import annotations

from ansible_collections.botfleet.deploy.plugins.plugin_utils.lost import LostRun


def test_nothing_lost_says_nothing():
    run = LostRun("canary.yml")
    run.switched("barnacles", "active", "r2", "r1")
    assert run.lines() == []


def test_a_bot_lost_after_its_switch_names_the_vm_task_and_both_releases():
    run = LostRun("canary.yml")
    run.switched("barnacles", "active", "r2", "r1")
    run.lost("barnacles", "lab-vm1", "Gate the canary")
    (line,) = run.lines()
    assert line.startswith(
        "barnacles: its VM lab-vm1 could not be reached during canary.yml, at task 'Gate the canary'"
    )
    assert "switched to release r2 (from r1) and was not rolled back" in line
    assert "playbooks/status.yml -l barnacles" in line
    assert "botfleet_break_lease=true" in line


def test_a_bot_lost_before_any_switch_runs_what_it_had():
    run = LostRun("rollback.yml")
    run.switched("toodles", "active", "r2", "r1")
    run.lost("barnacles", None, "Take the run lease of each bot")
    (line,) = run.lines()
    assert line.startswith("barnacles: its VM barnacles could not be reached during rollback.yml")
    assert "nothing was switched on it before, so it runs the release it had" in line


def test_a_rolled_back_bot_and_only_the_first_loss_are_told():
    run = LostRun("rollback.yml")
    run.switched("jarvis", "rolled_back", "r1", "r2")
    run.lost("jarvis", "lab-vm2", "Roll the bot back")
    run.lost("jarvis", "lab-vm2", "Give the run lease back")
    run.lost("msoar", "lab-vm2", "Roll the bot back")
    lines = run.lines()
    assert [line.split(":")[0] for line in lines] == ["jarvis", "msoar"]
    assert "at task 'Roll the bot back'" in lines[0]
    assert "rolled back to release r1 (from r2)" in lines[0]


def test_a_first_deployment_lost_after_its_switch_came_from_no_release():
    run = LostRun(None)
    run.switched("msoar", "active", "r1", None)
    run.lost("msoar", "lab-vm2", "Gate")
    assert "switched to release r1 (from none)" in run.lines()[0]
    assert "during this playbook" in run.lines()[0]
