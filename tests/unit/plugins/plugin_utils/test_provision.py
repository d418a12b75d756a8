"""What provision.yml says of each bot at the end of its run."""

from __future__ import annotations

import pytest

from ansible_collections.botfleet.deploy.plugins.plugin_utils.provision import provision_line

SWITCHED = {"current_id": "b" * 12, "previous_id": "a" * 12, "switched": True}
FIRST = {"current_id": "b" * 12, "previous_id": None, "switched": True}
UNCHANGED = {"current_id": "b" * 12, "previous_id": "a" * 12, "switched": False}
FAILURE = (
    "provision of money_ball failed: gate: unit: exited 1; rolled back from release b to a "
    "(webex-bot==1.0.8, websockets==11.0.3), which serves again"
)


@pytest.mark.parametrize(
    ("bot", "line"),
    [
        ({"activation": SWITCHED}, f"money_ball on lab-vm1: release {'b' * 12} (switched from {'a' * 12})"),
        (
            {"activation": SWITCHED, "check_mode": True},
            f"money_ball on lab-vm1: release {'b' * 12} (would switch from {'a' * 12})",
        ),
        ({"activation": FIRST}, f"money_ball on lab-vm1: release {'b' * 12} (switched from nothing)"),
        ({"activation": UNCHANGED}, f"money_ball on lab-vm1: release {'b' * 12} (unchanged)"),
        ({"activation": UNCHANGED, "check_mode": True}, f"money_ball on lab-vm1: release {'b' * 12} (unchanged)"),
        ({"failure": FAILURE, "activation": SWITCHED}, f"money_ball on lab-vm1: FAILED: {FAILURE}"),
        ({"provisioned": False}, "money_ball on lab-vm1: FAILED (see the error above)"),
    ],
    ids=["switched", "check-mode", "first-deployment", "unchanged", "unchanged-check-mode", "failed", "failed-before"],
)
def test_the_summary_line_of_each_bot(bot, line):
    assert provision_line(dict({"name": "money_ball", "vm": "lab-vm1", "provisioned": True}, **bot)) == line


def test_a_bot_without_a_vm_is_named_alone():
    assert provision_line({"name": "jarvis", "vm": None, "provisioned": True, "activation": UNCHANGED}) == (
        f"jarvis: release {'b' * 12} (unchanged)"
    )
