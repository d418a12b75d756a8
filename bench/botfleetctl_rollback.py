"""Benchmark: botfleetctl rollback on the VM against rollback.yml, the story's pip reinstall and the floor.

Each method is timed until the bot answers on the old versions (webex_bot=1.0.8), with the prober
of rollback_vs_story.py sending it "status" every 250 ms from the controller:

- botfleetctl: `botfleetctl rollback toodles --to <old id>` run on lab-vm1 (ssh, sudo), which takes
  the lease, switches the whole release, restarts and waits for the unit (its --stable 2 s go on
  while the bot connects); the forward switch between rounds is untimed;
- rollback.yml: `rollback.yml -l toodles -e botfleet_rollback_to=<old id>` from the controller
  (rollback_vs_story.botfleet_rounds);
- the story: pip install of the old versions into msoar's plain venv from the VM's wheelhouse, and a
  restart (rollback_vs_story.story_rounds, its best case);
- the floor: `systemctl restart` of toodles already on the old release; the prober starts once the
  restart has returned, so that only the new process can answer.

botfleetctl and the floor both go through one persistent ssh connection with sudo (common.on_vm).
Goals (issue 17): botfleetctl <= floor + 0.3 s and <= 1/2 of the story's method.
Needs the lab up and provisioned (`make demo` leaves it so); it installs botfleetctl on the lab VMs
with bot_host first. Restores toodles to the new release at the end.

    .venv/bin/python bench/botfleetctl_rollback.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import sys
import time

from common import REPO, fmt_rounds, median, on_vm, playbook, report
from rollback_vs_story import Prober, answers_after, botfleet_rounds, floor, story_rounds, toodles_releases

VM = "botfleet-lab-vm1"
OLD_REPLY, NEW_REPLY = "webex_bot=1.0.8 ", "webex_bot=1.3.1 "


def ctl(*argv):
    # Over ssh as deploy with sudo, as an operator runs it (sudo names the operator to the lease).
    return on_vm(VM, "botfleetctl", *argv)


def install_botfleetctl():
    """bot_host's botfleetctl and module_utils on the lab VMs (the lab may predate them)."""
    playbook("playbooks/provision.yml", "-i", REPO / "inventories" / "lab", "-l", "bot_vms", "--tags", "botfleet_host")


def ctl_rounds(rounds, old, new):
    """botfleetctl rollback rounds, each followed by a floor round while toodles is on the old release."""
    until, took, floors = [], [], []
    for _round in range(rounds):
        started = time.monotonic()
        prober = Prober("toodles", OLD_REPLY, started)
        prober.start()
        seconds, proc = ctl("rollback", "toodles", "--to", old)
        prober.join(120)
        if prober.seconds is None:
            sys.exit(f"toodles never answered on the old versions after botfleetctl rollback:\n{proc.stdout}")
        until.append(prober.seconds)
        took.append(seconds)
        floors.append(floor())
        # Forward again, untimed.
        ctl("rollback", "toodles", "--to", new)
        answers_after("toodles", NEW_REPLY, time.monotonic())
    return until, took, floors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    install_botfleetctl()
    # Both releases built, toodles on the new one (botfleet_rounds leaves it so too).
    playbook_until, playbook_total, _floors, _profile = botfleet_rounds(args.rounds)
    ids, current = toodles_releases()
    old, new = ids["1.0.8"], ids["1.3.1"]
    if current != new:
        ctl("rollback", "toodles", "--to", new)
    until, took, floors = ctl_rounds(args.rounds, old, new)
    story = story_rounds(args.rounds, "wheelhouse")

    base, story_median = median(floors), median(story)
    lines = [
        f"rollback of one bot until it answers on the old versions, median of {args.rounds}:",
        f"  botfleetctl rollback (on the VM)                   {fmt_rounds(until)}",
        f"    botfleetctl's own run (unit up, stable 2 s)      {fmt_rounds(took)}",
        f"  rollback.yml                                       {fmt_rounds(playbook_until)}",
        f"    rollback.yml to its end, gate included           {fmt_rounds(playbook_total)}",
        f"  story: pip install old (wheelhouse) + restart      {fmt_rounds(story)}",
        f"  floor: systemctl restart, already switched         {fmt_rounds(floors)}",
        f"  botfleetctl - floor = {median(until) - base:+.2f}s "
        f"({'meets' if median(until) - base <= 0.3 else 'MISSES'} the goal of <= +0.3 s)",
        f"  botfleetctl / story = {median(until) / story_median:.2f} "
        f"({'meets' if median(until) <= story_median / 2 else 'MISSES'} the goal of <= 0.5)",
    ]
    report(
        "botfleetctl_rollback",
        {
            "botfleetctl_until_answer": until,
            "botfleetctl_run": took,
            "rollback_playbook_until_answer": playbook_until,
            "rollback_playbook": playbook_total,
            "story_until_answer": story,
            "floor_until_answer": floors,
        },
        lines,
    )


if __name__ == "__main__":
    main()
