"""Benchmark: how the fleet's playbooks grow with the number of bots (5, 20, 40 by default).

For each size, a fresh lab of --vms VMs (`LAB_VMS=4 LAB_BOTS=N lab/lab.sh up`, reached over ssh as
deploy with become, like `make demo`) and, timed as wall time of ansible-playbook:

- provision.yml of every bot at webex_bot 1.0.8 + websockets 11.0.3;
- a real rollout of webex_bot 1.3.1 + websockets 16.1 after a canary of barnacles (untimed), in
  batches [1, "25%", "100%"] with pause 0 and soak 0;
- a converged rollout (the same rollout again: nothing to do).

Forks are sized from the inventory (bots + VMs), so that a batch runs all its bots at once. For
each playbook, the CPU seconds that ansible-playbook and its workers used and that the whole
machine used meanwhile: where the time goes when the rollout does not keep to its goal. Then
the memory each bot's unit uses (MemoryCurrent) and each VM (podman stats), and the ratio of the
40-bot figures to the 5-bot ones. Goal (issue 13): the rollout grows with batches and VMs, not
bots (40-bot rollout <= 2x the 5-bot one). Removes the lab at the start and at the end.

    .venv/bin/python bench/scale.py [--sizes 5 20 40] [--vms 4]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
from pathlib import Path

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


def machine_busy():
    """CPU seconds the whole machine (controller and VMs) has been busy, from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def timed(*args):
    """Run a playbook; wall seconds, CPU seconds of ansible-playbook and its workers, CPU seconds of
    the whole machine meanwhile (so: what the controller's share of the work was)."""
    before, busy = resource.getrusage(resource.RUSAGE_CHILDREN), machine_busy()
    took, proc = playbook(*args)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    controller = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    tasks = sum(int(n) for n in re.findall(r"\b(?:ok|changed|failed|skipped)=(\d+)", proc.stdout))
    return {"wall": took, "controller_cpu": controller, "machine_cpu": machine_busy() - busy, "host_tasks": tasks}


def size_round(bots, vms):
    lab("down", expect_ok=False)
    lab("up", LAB_VMS=str(vms), LAB_BOTS=str(bots))
    names = [f"botfleet-lab-vm{n}" for n in range(1, vms + 1)]
    for n, vm in enumerate(names):
        LAB_SSH_PORTS[vm] = 2201 + n
    forks = ["--forks", str(bots + vms)]
    inventory = ["-i", INVENTORY]
    provision = timed("playbooks/provision.yml", *inventory, *forks)
    playbook("playbooks/canary.yml", *inventory, *forks, "-l", "barnacles", *NEW)
    rollout = timed("playbooks/rollout.yml", *inventory, *forks, *NEW, *REAL)
    converged = timed("playbooks/rollout.yml", *inventory, *forks, *NEW, *REAL)
    bot_mib, vm_mem = memory(names)
    return {
        "bots": bots,
        "vms": vms,
        "provision": provision["wall"],
        "rollout": rollout["wall"],
        "converged_rollout": converged["wall"],
        "cpu": {"provision": provision, "rollout": rollout, "converged_rollout": converged},
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
    lines.append(
        "  CPU seconds of the rollout: ansible-playbook and its workers / the whole machine (2 x wall is all of it);"
        " host-tasks in its recap"
    )
    for fig in figures:
        cpu = fig["cpu"]["rollout"]
        lines.append(
            f"  {fig['bots']:>4}  controller {cpu['controller_cpu']:7.1f}s / machine {cpu['machine_cpu']:7.1f}s"
            f" of {os.cpu_count() * cpu['wall']:7.1f}s, {cpu['host_tasks']} host-tasks,"
            f" {cpu['controller_cpu'] / max(cpu['host_tasks'], 1):.2f}s controller CPU a host-task"
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
