"""What the benchmarks share: running Ansible like an operator, timing, medians."""

from __future__ import annotations

import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = REPO / "bench" / "results"
# The lab's ssh login (lab/lab.sh up): each VM's sshd on its own port of 127.0.0.1, as in
# inventories/lab/hosts.yml.
LAB_SSH = REPO / ".cache" / "lab" / "ssh"
LAB_SSH_PORTS = {"botfleet-lab-vm1": 2201, "botfleet-lab-vm2": 2202}
PROFILE_LINE = re.compile(r"^(?P<name>.+?) -+ (?P<seconds>\d+\.\d+)s$")


def ansible_env(**extra):
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        CONTAINERS_CONF=str(REPO / "lab" / "containers.conf"),
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.update(extra)
    return env


def run(argv, expect_ok=True, **env):
    """Run a command with the Ansible environment; return (seconds, completed process)."""
    started = time.monotonic()
    proc = subprocess.run(argv, env=ansible_env(**env), capture_output=True, text=True, check=False, cwd=REPO)
    took = time.monotonic() - started
    if expect_ok and proc.returncode != 0:
        sys.exit(
            f"{' '.join(map(str, argv))} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
        )
    return took, proc


def on_vm(vm, *argv, expect_ok=True):
    """Run argv as root on a lab VM the way an operator of a real fleet does: ssh as deploy, sudo.

    One persistent connection per VM (ControlPersist), as Ansible keeps one, so that neither side
    pays the ssh handshake on every command.
    """
    ssh = [
        "ssh",
        "-o", "BatchMode=yes",
        "-o", f"UserKnownHostsFile={LAB_SSH / 'known_hosts'}",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "ControlMaster=auto",
        "-o", "ControlPersist=120s",
        "-o", f"ControlPath={LAB_SSH / 'bench-%p'}",
        "-i", str(LAB_SSH / "id_ed25519"),
        "-p", str(LAB_SSH_PORTS[vm]),
        "deploy@127.0.0.1",
    ]  # fmt: skip
    return run([*ssh, "sudo", "--", *map(shlex.quote, map(str, argv))], expect_ok=expect_ok)


def playbook(*args, **env):
    return run([str(BIN / "ansible-playbook"), *map(str, args)], **env)


def profiled_local_play(tmp, name, tasks, **env):
    """Run ``tasks`` in one play on localhost with profile_tasks; task name -> seconds."""
    play = Path(tmp, "play.yml")
    play.write_text(
        json.dumps([{"name": name, "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}])
    )
    _took, proc = playbook(
        play,
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
        PROFILE_TASKS_TASK_OUTPUT_LIMIT="all",
        **env,
    )
    return profile_times(proc.stdout)


def profile_times(stdout):
    """Task name -> seconds, from the ansible.posix.profile_tasks summary."""
    times = {}
    for line in stdout.splitlines():
        match = PROFILE_LINE.match(line.strip())
        if match:
            times.setdefault(match["name"], []).append(float(match["seconds"]))
    return times


def median(values):
    return statistics.median(values)


def fmt_rounds(values):
    """The median of timed rounds, then each round: ``  4.74s  (4.70 4.74 5.01)``."""
    return f"{median(values):6.2f}s  ({' '.join(f'{v:.2f}' for v in values)})"


def report(name, data, lines):
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    print("\n".join(lines))
    print(f"(raw figures: {RESULTS / (name + '.json')})")
