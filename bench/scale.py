"""Benchmark: how the fleet's playbooks grow with the number of bots (5, 20, 40 by default).

For each size, a fresh lab of --vms VMs (`LAB_VMS=4 LAB_BOTS=N lab/lab.sh up`, reached over ssh as
deploy with become, like `make demo`) and, timed as wall time of ansible-playbook:

- provision.yml of every bot at webex_bot 1.0.8 + websockets 11.0.3;
- a real rollout of webex_bot 1.3.1 + websockets 16.1 after a canary of barnacles (untimed), in
  batches [1, "25%", "100%"] with pause 0 and soak 0;
- a converged rollout (the same rollout again: nothing to do).

Forks are sized from the inventory (bots + VMs), so that a batch runs all its bots at once. Then
the memory each bot's unit uses (MemoryCurrent) and each VM (podman stats), and the ratio of the
40-bot figures to the 5-bot ones. Goal (issue 13): the rollout grows with batches and VMs, not
bots (40-bot rollout <= 2x the 5-bot one). Removes the lab at the start and at the end.

    .venv/bin/python bench/scale.py [--sizes 5 20 40] [--vms 4]
"""

from __future__ import annotations

import argparse
import json
import os

from common import LAB_SSH_PORTS, REPO, on_vm, playbook, report, run

NEW = ["-e", "@lab/pins/new.yml"]
BATCHES = '{"botfleet_rollout_batches": [1, "25%", "100%"], "botfleet_rollout_pause": 0}'
REAL = ["-e", "botfleet_canary_soak=0", "-e", BATCHES]
STATE = REPO / ".cache" / "lab"
INVENTORY = STATE / "inventory"


def lab(*argv, **env):
    return run([str(REPO / "lab" / "lab.sh"), *argv], **env)


def memory(vms):
    """MiB per bot unit and per VM."""
    bots, per_vm = [], {}
    for vm in vms:
        _took, proc = on_vm(
            vm,
            "sh",
            "-c",
            # The resident memory of each bot unit's main process (the containers keep no memory accounting,
            # so MemoryCurrent is not set), in KiB.
            "for unit in $(systemctl list-units --plain --no-legend --type=service 'botfleet-*' | cut -d' ' -f1);"
            " do pid=$(systemctl show --property=MainPID --value $unit);"
            " awk '/^VmRSS:/ {print $2}' /proc/$pid/status; done",
            expect_ok=False,
        )
        bots += [int(value) / 2**10 for value in proc.stdout.split() if value.isdigit()]
        _took, proc = run(["podman", "stats", "--no-stream", "--format", "json", vm])
        stats = json.loads(proc.stdout)[0]
        per_vm[vm] = stats.get("mem_usage") or stats.get("MemUsage")
    return bots, per_vm


def size_round(bots, vms):
    lab("down", expect_ok=False)
    lab("up", LAB_VMS=str(vms), LAB_BOTS=str(bots))
    names = [f"botfleet-lab-vm{n}" for n in range(1, vms + 1)]
    for n, vm in enumerate(names):
        LAB_SSH_PORTS[vm] = 2201 + n
    forks = ["--forks", str(bots + vms)]
    inventory = ["-i", INVENTORY]
    provision, _proc = playbook("playbooks/provision.yml", *inventory, *forks)
    playbook("playbooks/canary.yml", *inventory, *forks, "-l", "barnacles", *NEW)
    rollout, _proc = playbook("playbooks/rollout.yml", *inventory, *forks, *NEW, *REAL)
    converged, _proc = playbook("playbooks/rollout.yml", *inventory, *forks, *NEW, *REAL)
    bot_mib, vm_mem = memory(names)
    return {
        "bots": bots,
        "vms": vms,
        "provision": provision,
        "rollout": rollout,
        "converged_rollout": converged,
        "bot_mib": bot_mib,
        "vm_memory": vm_mem,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 20, 40])
    parser.add_argument("--vms", type=int, default=4)
    args = parser.parse_args()
    os.environ.pop("BOTFLEET_LAB_STATE", None)
    figures = []
    try:
        for bots in args.sizes:
            figures.append(size_round(bots, args.vms))
            fig = figures[-1]
            # As it goes: a long run that is stopped still leaves its figures.
            print(
                f"{bots} bots: provision {fig['provision']:.1f}s, rollout {fig['rollout']:.1f}s, "
                f"converged {fig['converged_rollout']:.1f}s, {len(fig['bot_mib'])} bot processes",
                flush=True,
            )
    finally:
        lab("down", expect_ok=False)
    lines = [f"fleet size over {args.vms} VMs, over ssh as deploy + become; wall time of ansible-playbook:"]
    lines.append(f"  {'bots':>4}  {'provision':>9}  {'rollout':>8}  {'converged':>9}  {'MiB/bot':>7}  memory per VM")
    for fig in figures:
        per_bot = sum(fig["bot_mib"]) / max(len(fig["bot_mib"]), 1)
        lines.append(
            f"  {fig['bots']:>4}  {fig['provision']:8.1f}s  {fig['rollout']:7.1f}s  {fig['converged_rollout']:8.1f}s"
            f"  {per_bot:7.1f}  {', '.join(str(v) for v in fig['vm_memory'].values())}"
        )
    first, last = figures[0], figures[-1]
    ratio = last["rollout"] / first["rollout"]
    lines.append(
        f"  {last['bots']}/{first['bots']} bots: provision x{last['provision'] / first['provision']:.2f}, "
        f"rollout x{ratio:.2f} ({'meets' if ratio <= 2 else 'MISSES'} the goal of <= 2), "
        f"converged rollout x{last['converged_rollout'] / first['converged_rollout']:.2f}"
    )
    report("scale", figures, lines)


if __name__ == "__main__":
    main()
