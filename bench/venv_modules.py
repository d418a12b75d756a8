"""Benchmark: bot_facts and venv_pins against the usual ways of doing the same job.

In one play on one venv holding webex_bot 1.0.8 and its dependencies, each round runs
four tasks on localhost:

  1. botfleet.deploy.bot_facts for 10 packages
  2. ansible.builtin.command running `pip show` for each of the 10 (one task, a loop)
  3. botfleet.deploy.venv_pins with the 10 pins, already converged
  4. ansible.builtin.pip with the same 10 pins, already converged

Per-task times come from the ansible.posix.profile_tasks callback; the script prints
the median of each over the rounds and the ratios against the goals
(bot_facts >= 5x faster than pip show; venv_pins >= 2x faster than ansible.builtin.pip).

    .venv/bin/python bench/venv_modules.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import BIN, REPO, profile_times
from common import playbook as run_playbook

TARGET_PYTHON = "/usr/bin/python3.11" if os.path.exists("/usr/bin/python3.11") else sys.executable
PACKAGES = [
    "webex_bot",
    "websockets",
    "webexpythonsdk",
    "backoff",
    "coloredlogs",
    "humanfriendly",
    "requests",
    "requests-toolbelt",
    "PyJWT",
    "urllib3",
]
TASKS = {
    "facts": "bot_facts reads 10 packages",
    "pip_show": "pip show for each of 10 packages",
    "pins": "venv_pins converged on 10 pins",
    "builtin_pip": "ansible.builtin.pip converged on 10 pins",
}
GOALS = {("pip_show", "facts"): 5.0, ("builtin_pip", "pins"): 2.0}


def build_venv(path):
    uv = BIN / "uv"
    # --seed puts pip in the venv: pip show and ansible.builtin.pip need it.
    subprocess.run([uv, "venv", "--quiet", "--seed", "--python", TARGET_PYTHON, path], check=True)
    subprocess.run([uv, "pip", "install", "--quiet", "--python", f"{path}/bin/python", "webex_bot==1.0.8"], check=True)
    script = "import json, importlib.metadata as m, sys; print(json.dumps({p: m.version(p) for p in sys.argv[1:]}))"
    out = subprocess.run([f"{path}/bin/python", "-c", script, *PACKAGES], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def bench_play(venv, versions, rounds):
    pins = dict(versions)
    tasks = []
    for index in range(1, rounds + 1):
        tasks += [
            {
                "name": f"r{index} {TASKS['facts']}",
                "botfleet.deploy.bot_facts": {"path": venv, "packages": PACKAGES},
            },
            {
                "name": f"r{index} {TASKS['pip_show']}",
                "ansible.builtin.command": {"argv": [f"{venv}/bin/pip", "show", "{{ item }}"]},
                "loop": PACKAGES,
                "changed_when": False,
            },
            {
                "name": f"r{index} {TASKS['pins']}",
                "botfleet.deploy.venv_pins": {"path": venv, "pins": pins},
            },
            {
                "name": f"r{index} {TASKS['builtin_pip']}",
                "ansible.builtin.pip": {
                    "name": [f"{name}=={version}" for name, version in versions.items()],
                    "virtualenv": venv,
                },
            },
        ]
    return [
        {
            "name": "Benchmark venv modules",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": tasks,
        }
    ]


def run(rounds):
    with tempfile.TemporaryDirectory(prefix="botfleet-bench-") as tmp:
        venv = f"{tmp}/venv"
        versions = build_venv(venv)
        play = Path(tmp, "bench.yml")
        play.write_text(json.dumps(bench_play(venv, versions, rounds)))
        _took, proc = run_playbook(
            play,
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            expect_ok=False,
            ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
            PROFILE_TASKS_TASK_OUTPUT_LIMIT="all",
            PROFILE_TASKS_SORT_ORDER="none",
        )
        if proc.returncode != 0:
            sys.exit(f"the benchmark play failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    times = {key: [] for key in TASKS}
    for name, seconds in profile_times(proc.stdout).items():
        for key, label in TASKS.items():
            if name.endswith(label):
                times[key] += seconds
    missing = [key for key, values in times.items() if len(values) != rounds]
    if missing:
        sys.exit(f"profile_tasks reported no time for {missing}:\n{proc.stdout[-3000:]}")
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--output", default=str(REPO / "bench" / "results" / "venv_modules.json"))
    args = parser.parse_args()
    times = run(args.rounds)
    medians = {key: statistics.median(values) for key, values in times.items()}
    print(f"median of {args.rounds} rounds, per task (ansible.posix.profile_tasks):")
    for key, label in TASKS.items():
        print(f"  {label:45s} {medians[key]:6.2f}s   rounds: {' '.join(f'{v:.2f}' for v in times[key])}")
    ok = True
    for (slow, fast), goal in GOALS.items():
        ratio = medians[slow] / medians[fast]
        verdict = "meets" if ratio >= goal else "MISSES"
        ok &= ratio >= goal
        print(f"  {TASKS[slow]} / {TASKS[fast]}: {ratio:.1f}x ({verdict} the goal of {goal:g}x)")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps({"rounds": args.rounds, "times": times, "medians": medians}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
