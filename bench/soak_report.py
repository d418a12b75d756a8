"""Benchmark: the rollout's soak read of five bots on two VMs, next to one bot_facts call.

rollout.yml reads the soak of the canary and its baseline with one soak_report call per VM (the
issue's goal: at most two Ansible round trips per VM). This runs that read as the rollout does,
one ad-hoc call per VM in parallel, over the last hour of the lab's journal, and one bot_facts call
of one bot, each three times, and prints the medians and the number of module calls per VM.
Needs the lab up and provisioned (`make demo` leaves it so).

    .venv/bin/python bench/soak_report.py [--rounds 3] [--since-minutes 60]
"""

from __future__ import annotations

import argparse
import json
import time

from common import BIN, median, report, run

VMS = {"lab-vm1": ["barnacles", "toodles", "money_ball"], "lab-vm2": ["jarvis", "msoar"]}


def adhoc(pattern, module, args):
    took, proc = run(
        [str(BIN / "ansible"), pattern, "-i", "inventories/lab", "-m", module, "-a", json.dumps(args), "-o"],
    )
    return took, proc.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--since-minutes", type=float, default=60)
    options = parser.parse_args()
    since = int(time.time() - options.since_minutes * 60)
    soak, facts, calls = [], [], {}
    for _round in range(options.rounds):
        # Both VMs in one ad-hoc run (forks), as the rollout's task runs on one bot per VM.
        bots = "{{ " + json.dumps(VMS) + "[inventory_hostname] }}"
        took, out = adhoc("lab-vm1:lab-vm2", "botfleet.deploy.soak_report", {"bots": bots, "since": since})
        soak.append(took)
        calls = {vm: out.count(vm + " | ") for vm in VMS}
        took, _out = adhoc("lab-vm1", "botfleet.deploy.bot_facts", {"path": "/opt/botfleet/barnacles/current/venv"})
        facts.append(took)
    lines = [
        f"soak_report, 5 bots on 2 VMs, last {options.since_minutes:g} min: median {median(soak):.2f}s "
        f"over {options.rounds} rounds; module calls per VM: {calls}",
        f"bot_facts, one bot: median {median(facts):.2f}s; ratio {median(soak) / median(facts):.2f}",
    ]
    report("soak_report", {"soak_report": soak, "bot_facts": facts, "calls_per_vm": calls}, lines)


if __name__ == "__main__":
    main()
