"""Benchmark: a release that changes only the bot's code reuses the venv of the previous release.

The demo bot's repository (`lab/lab.sh demo-repo`: commits `good` and `broken`), locked with
webex_bot 1.0.8 + websockets 11.0.3 and its requirements.txt, from the lab's wheelhouse (offline):

1. a full build: the `good` tree as a directory source (no git), venv created and installed, with
   uv and with pip (installers' caches warm, as on a VM after its first build);
2. a commit-only build: the `broken` commit from git, the same lock, so the venv of (1) is copied
   (hard links) and nothing is installed.

Each round uses a new bot per installer, so (1) always installs. Target: this machine (local connection),
/usr/bin/python3.11, as root without a build user. Per-task times from ansible.posix.profile_tasks.

    .venv/bin/python bench/source_release.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

from common import REPO, median, profiled_local_play, report

PINS = {"webex_bot": "1.0.8", "websockets": "11.0.3"}
INSTALLERS = ("uv", "pip")
WHEELHOUSE = Path(os.environ.get("BOTFLEET_WHEELHOUSE") or REPO / ".cache" / "wheelhouse")


def demo_repo(tmp):
    """The lab's demo repository, and the `good` tree exported into a plain directory."""
    repo = Path(tmp, "demo-bot-repo")
    subprocess.run(
        [REPO / "lab" / "lab.sh", "demo-repo"],
        env=dict(os.environ, BOTFLEET_DEMO_REPO=str(repo)),
        check=True,
        capture_output=True,
    )
    tree = Path(tmp, "demo-bot-tree")
    tree.mkdir()
    archive = subprocess.run(["git", "-C", repo, "archive", "good"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
    return repo, tree


def release_task(name, bot, tmp, source, installer="auto"):
    return {
        "name": name,
        "botfleet.deploy.release": {
            "bot": bot,
            "state": "built",
            "root": f"{tmp}/opt",
            "state_dir": f"{tmp}/state",
            "pins": PINS,
            "python": "/usr/bin/python3.11",
            "smoke_imports": ["webex_bot"],
            "build_user": "",
            "installer": installer,
            "find_links": [str(WHEELHOUSE)],
            "offline": True,
            "source": (
                f"{{{{ query('botfleet.deploy.source', {json.dumps(source)}, requirements_file='requirements.txt')"
                " | first }}"
            ),
        },
        "register": f"__{name.split()[-1]}",
    }


def round_tasks(index, installer, tmp, repo, tree):
    bot = f"bench{index}{installer}"
    return [
        release_task(f"r{index} {installer} build full", bot, tmp, {"dir": str(tree)}, installer),
        release_task(f"r{index} {installer} build commit", bot, tmp, {"repo": str(repo), "version": "broken"}),
        {
            "name": f"r{index} {installer} check that only the full build installed",
            "ansible.builtin.assert": {
                "that": [
                    "__full.venv_reused_from is not defined and __full.installer == '" + installer + "'",
                    "__commit.venv_reused_from == __full.release_id",
                    "__commit.installer is none and __commit.commands == []",
                    "__commit.venv_id == __full.venv_id and __commit.release_id != __full.release_id",
                    "__commit.release.source.kind == 'git' and __full.release.source.kind == 'dir'",
                ],
            },
        },
    ]


def build_times(rounds):
    with tempfile.TemporaryDirectory(prefix="botfleet-bench-") as tmp:
        repo, tree = demo_repo(tmp)
        tasks = [
            task
            for index in range(1, rounds + 1)
            for installer in INSTALLERS
            for task in round_tasks(index, installer, tmp, repo, tree)
        ]
        times = profiled_local_play(tmp, "Build releases", tasks, BOTFLEET_SOURCE_CACHE=f"{tmp}/sources")
    return {
        f"{installer} {label}": [
            seconds
            for name, values in times.items()
            if name.endswith(f"{installer} build {label}")
            for seconds in values
        ]
        for installer in INSTALLERS
        for label in ("full", "commit")
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    builds = build_times(args.rounds)
    lines = [f"release of the demo bot's code, webex_bot 1.0.8 + websockets 11.0.3, median of {args.rounds}:"]
    for installer in INSTALLERS:
        for label, key in (("full build (installs)", "full"), ("commit only (venv reused)", "commit")):
            values = builds[f"{installer} {key}"]
            lines.append(
                f"  {installer:3s} {label:26s} {median(values):6.2f}s   ({' '.join(f'{v:.2f}' for v in values)})"
            )
    report("source_release", {"builds": builds}, lines)


if __name__ == "__main__":
    main()
