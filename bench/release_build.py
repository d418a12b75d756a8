"""Benchmark: building a release of webex_bot's dependency set, and switching to a built one.

1. Build time of a release (webex_bot 1.0.8 + websockets 11.0.3, 11 distributions), with uv and
   with pip, from the package index and from the lab's wheelhouse (--no-index). Each build is a
   new release directory (a new bot name), with the installers' caches warm as on a real VM after
   its first build. Target: this machine (local connection), /usr/bin/python3.11.
2. Switch and restart time of a bot whose releases are already built: the release module's
   state=active and a systemd restart, on the lab (needs `make lab-up` + provision).

Per-task times come from ansible.posix.profile_tasks; medians over --rounds.

    .venv/bin/python bench/release_build.py [--rounds 3] [--skip-switch]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import REPO, median, playbook, profile_times, profiled_local_play, report

PINS = {"webex_bot": "1.0.8", "websockets": "11.0.3"}
WHEELHOUSE = REPO / ".cache" / "wheelhouse"
COMBOS = {
    "uv, index": {"installer": "uv"},
    "pip, index": {"installer": "pip"},
    "uv, wheelhouse": {"installer": "uv", "find_links": [str(WHEELHOUSE)], "offline": True},
    "pip, wheelhouse": {"installer": "pip", "find_links": [str(WHEELHOUSE)], "offline": True},
}


def build_times(rounds):
    with tempfile.TemporaryDirectory(prefix="botfleet-bench-") as tmp:
        tasks = []
        for index in range(1, rounds + 1):
            for label, options in COMBOS.items():
                tasks.append(
                    {
                        "name": f"r{index} build {label}",
                        "botfleet.deploy.release": dict(
                            options,
                            bot=f"bench{index}{len(tasks)}",
                            state="built",
                            root=f"{tmp}/opt",
                            state_dir=f"{tmp}/state",
                            pins=PINS,
                            python="/usr/bin/python3.11",
                            smoke_imports=["webex_bot"],
                        ),
                    }
                )
        times = profiled_local_play(tmp, "Build releases", tasks)
    return {label: [t for name, ts in times.items() if name.endswith(f"build {label}") for t in ts] for label in COMBOS}


SWITCH_PLAY = """
- name: Switch toodles between two built releases and restart it
  hosts: toodles
  gather_facts: false
  tasks:
    - name: Find two built releases
      ansible.builtin.find:
        paths: /opt/botfleet/toodles/releases
        file_type: directory
        patterns: "????????????"
      register: found
    - name: Switch and restart, alternately
      ansible.builtin.include_tasks: switch_once.yml
      loop: "{{ range(rounds | int) | list }}"
      loop_control:
        loop_var: round
"""
SWITCH_ONCE = """
- name: switch
  botfleet.deploy.release:
    bot: toodles
    state: active
    release_id: "{{ (found.files | map(attribute='path') | map('basename') | sort)[round % 2] }}"
- name: restart
  ansible.builtin.systemd_service:
    name: botfleet-toodles.service
    state: restarted
"""


def switch_times(rounds):
    with tempfile.TemporaryDirectory(prefix="botfleet-bench-") as tmp:
        Path(tmp, "switch.yml").write_text(SWITCH_PLAY)
        Path(tmp, "switch_once.yml").write_text(SWITCH_ONCE)
        _took, proc = playbook(
            Path(tmp, "switch.yml"),
            "-i",
            REPO / "inventories" / "lab",
            "-e",
            f"rounds={rounds * 2}",
            ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
            PROFILE_TASKS_TASK_OUTPUT_LIMIT="all",
        )
    times = profile_times(proc.stdout)
    return {"switch": times.get("switch", []), "restart": times.get("restart", [])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-switch", action="store_true")
    args = parser.parse_args()
    builds = build_times(args.rounds)
    lines = [f"release build, webex_bot 1.0.8 + websockets 11.0.3, median of {args.rounds}:"]
    lines += [
        f"  {label:18s} {median(values):6.2f}s   ({' '.join(f'{v:.2f}' for v in values)})"
        for label, values in builds.items()
    ]
    data = {"builds": builds}
    if not args.skip_switch:
        switch = switch_times(args.rounds)
        data["switch"] = switch
        lines.append(f"switch + restart of a built release on the lab, median of {len(switch['switch'])}:")
        lines.append(
            f"  release state=active {median(switch['switch']):6.2f}s, "
            f"systemctl restart {median(switch['restart']):6.2f}s"
        )
    report("release_build", data, lines)


if __name__ == "__main__":
    main()
