"""Benchmark: a converged rollout.yml over the five lab bots against a naive playbook.

The naive playbook (bench/naive/rollout.yml) does the same job the usual way: ansible.builtin.pip
into each bot's venv, template the unit, systemd_service started, the same serial batches and a
pause after each batch. Both run on the converged lab fleet (webex_bot 1.3.1 + websockets 16.1),
so neither changes anything. botfleet's rollout also checks and probes the canary first; it
reads each other bot once and leaves the converged ones out of its batches (deployment_drift).

Reported: wall time of ansible-playbook, median of --rounds, for
  - rollout.yml with its defaults (pause 120 s between batches that changed something: none here);
  - the naive playbook without pauses (pure task time), and once with the same 120 s pauses.
Needs the lab up and provisioned (`make demo`). The naive units run the same bots, so botfleet's
units are stopped while the naive ones run, and restored afterwards.

    .venv/bin/python bench/rollout_vs_naive.py [--rounds 3] [--skip-paused]
"""

from __future__ import annotations

import argparse

from common import REPO, median, playbook, report, run

INVENTORY = REPO / "inventories" / "lab"
NEW = ["-e", "@lab/pins/new.yml"]
BOTS = {"botfleet-lab-vm1": ["barnacles", "toodles", "money_ball"], "botfleet-lab-vm2": ["jarvis", "msoar"]}


def on_vms(script):
    for vm, bots in BOTS.items():
        run(["podman", "exec", vm, "sh", "-c", script.format(bots=" ".join(bots))], expect_ok=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-paused", action="store_true", help="skip the naive run with 120 s pauses")
    args = parser.parse_args()

    # Converge the fleet first (untimed): the canary mark and every bot on the new release.
    playbook("playbooks/canary.yml", "-i", INVENTORY, "-l", "barnacles", *NEW)
    playbook(
        "playbooks/rollout.yml", "-i", INVENTORY, *NEW, "-e", "botfleet_canary_soak=0", "-e", "botfleet_rollout_pause=0"
    )
    ours = [
        playbook("playbooks/rollout.yml", "-i", INVENTORY, *NEW, "-e", "botfleet_canary_soak=0")[0]
        for _round in range(args.rounds)
    ]

    naive_play = REPO / "bench" / "naive" / "rollout.yml"
    # ansible.builtin.pip needs setuptools (or packaging) for the target's python; botfleet needs neither.
    on_vms(
        "python3 -c 'import setuptools' 2>/dev/null || {{ apt-get update -qq && "
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-setuptools >/dev/null; }}"
    )
    on_vms("for b in {bots}; do systemctl stop botfleet-$b.service; done")
    try:
        playbook(naive_play, "-i", INVENTORY, *NEW, "-e", "naive_pause=0")  # builds the venvs, untimed
        naive = [playbook(naive_play, "-i", INVENTORY, *NEW, "-e", "naive_pause=0")[0] for _round in range(args.rounds)]
        paused = None if args.skip_paused else playbook(naive_play, "-i", INVENTORY, *NEW, "-e", "naive_pause=120")[0]
    finally:
        on_vms(
            "for b in {bots}; do systemctl disable --now naive-$b.service; "
            "rm -f /etc/systemd/system/naive-$b.service; done; rm -rf /opt/naive; systemctl daemon-reload; "
            "for b in {bots}; do systemctl reset-failed botfleet-$b.service; systemctl start botfleet-$b.service; done"
        )

    def fmt(values):
        return f"{median(values):6.1f}s  ({' '.join(f'{v:.1f}' for v in values)})"

    lines = [
        f"converged rollout of five bots, wall time, median of {args.rounds}:",
        f"  rollout.yml (canary check + probe, batches, pause 120 s)  {fmt(ours)}",
        f"  naive playbook, no pauses                                {fmt(naive)}",
        f"    rollout.yml / naive = {median(ours) / median(naive):.2f} (goal <= 0.6)",
    ]
    if paused is not None:
        lines += [
            f"  naive playbook with its 120 s pauses (one run)           {paused:6.1f}s",
            f"    rollout.yml / naive = {median(ours) / paused:.2f} (goal <= 0.6)",
        ]
    report("rollout_vs_naive", {"rollout": ours, "naive_no_pause": naive, "naive_paused": paused}, lines)


if __name__ == "__main__":
    main()
