"""Benchmark: rollback.yml against the story's rollback and the floor, each until the bot answers again.

Everything goes over ssh as the unprivileged deploy user with sudo, as on a real fleet (the lab's
sshd, inventories/lab): the playbook with become, the story's and the floor's commands through one
persistent ssh connection per VM (common.on_vm), as an operator's `ssh metcirt-lab` would.

- rollback.yml: `rollback.yml -l toodles -e botfleet_rollback_to=<old id>`, which takes the run
  lease, switches `current` to that already built release, restarts and gates (unit stable 10 s,
  venv, probe) after the bot already answers;
- the story: pip install the old versions into the bot's venv, restart the process. Here it runs on
  lab-vm2 with msoar's identity, in a plain venv (/opt/story/venv) under a plain unit, pip
  installing from the VM's wheelhouse (--no-index): the best case for the story, since the real one
  downloaded from PyPI (--pypi adds that variant, through the controller's proxy);
- the floor: `systemctl restart` of toodles already on the old release; the prober starts once the
  restart has returned, so that only the new process can answer.

For each, a prober on the controller starts with the rollback and sends the bot "status" every
250 ms until a reply shows the old versions (webex_bot=1.0.8): "until the bot answers again".
rollback.yml's own end (after its gate) and its slowest tasks (profile_tasks) are reported too.
Goals (issue 13): rollback.yml <= the story's method, and <= the floor + 1.5 s.
Needs the lab up and provisioned (`make demo` leaves it so). Restores what it changes.

    .venv/bin/python bench/rollback_vs_story.py [--rounds 3] [--pypi]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import threading
import time

from common import REPO, fmt_rounds, median, on_vm, playbook, profile_times, report, run

sys.path.insert(0, str(REPO / ".collections"))
from ansible_collections.botfleet.deploy.plugins.module_utils.webex_client import WebexClient

BASE = "http://127.0.0.1:8790/v1/"
WHEELHOUSE = "/var/cache/botfleet/wheelhouse"
NEW = ["webex_bot==1.3.1", "websockets==16.1"]
OLD = ["webex_bot==1.0.8", "websockets==11.0.3"]
STORY_UNIT = """[Unit]
Description=msoar the way of the story: one venv, pip in place
StartLimitIntervalSec=0
[Service]
ExecStart=/opt/story/venv/bin/python -m botfleet_demo_bot
# The bot's settings (the emulator's address) as its release has them, then its token.
EnvironmentFile=/opt/botfleet/msoar/current/environment
EnvironmentFile=/etc/botfleet/msoar.env
Restart=always
"""


def answers_after(bot, expect, started, deadline=120.0, every=0.25):
    """Seconds from ``started`` until the bot answers "status" with a reply containing ``expect``.

    A message goes out every ``every`` seconds without waiting for the previous one (a message
    sent while the bot is down is never delivered), so the figure is good to about ``every``.
    """
    client = WebexClient(
        "lab-probe-token", base_url=BASE, request_timeout=5.0, max_retries=0, use_proxy=False, label="the probe token"
    )
    email = f"{bot}@lab.botfleet.invalid"
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - (time.monotonic() - started)))
    while time.monotonic() - started < deadline:
        room = client.send_message(to_person_email=email, text="status")["roomId"]
        for message in client.list_messages(room, 20):
            if (
                message.get("personEmail") == email
                and expect in (message.get("text") or "")
                and message.get("created", "") >= since
            ):
                return time.monotonic() - started
        time.sleep(every)
    sys.exit(f"{bot} did not answer with {expect!r} within {deadline}s")


class Prober(threading.Thread):
    def __init__(self, bot, expect, started):
        super().__init__(daemon=True)
        self.args = (bot, expect, started)
        self.seconds = None

    def run(self):
        self.seconds = answers_after(*self.args)


def vm(*argv):
    on_vm("botfleet-lab-vm2", *argv)


def toodles_releases():
    """{webex_bot version: release id} of toodles's built releases, and the current id."""
    script = (
        "import glob, json, os\n"
        "ids = {json.load(open(f))['resolved']['webex-bot']: f.split('/')[-2]"
        " for f in glob.glob('/opt/botfleet/toodles/releases/*/release.json')}\n"
        "print(json.dumps([ids, os.path.basename(os.readlink('/opt/botfleet/toodles/current'))]))"
    )
    _took, proc = on_vm("botfleet-lab-vm1", "python3", "-c", script)
    return json.loads(proc.stdout)


def floor(bot="toodles", expect="webex_bot=1.0.8 "):
    """`systemctl restart` of a bot already on the release wanted, until it answers.

    The prober starts once the restart has returned: only the new process can answer then.
    """
    started = time.monotonic()
    on_vm("botfleet-lab-vm1", "systemctl", "restart", f"botfleet-{bot}.service")
    return answers_after(bot, expect, started)


def botfleet_rounds(rounds):
    inventory = REPO / "inventories" / "lab"
    # Both releases built, toodles on the new one (what the demo leaves may be either).
    playbook("playbooks/canary.yml", "-i", inventory, "-l", "toodles", "-e", "@lab/pins/new.yml")
    ids, current = toodles_releases()
    old, new = ids["1.0.8"], ids["1.3.1"]
    if current != new:
        playbook("playbooks/rollback.yml", "-i", inventory, "-l", "toodles", "-e", f"botfleet_rollback_to={new}")
    until, total, floors, profile = [], [], [], {}
    for _round in range(rounds):
        started = time.monotonic()
        prober = Prober("toodles", "webex_bot=1.0.8 ", started)
        prober.start()
        # The release is named: a plain rollback after the forward switch below would be a
        # second rollback in a row, which rollback.yml refuses to guess (it says so).
        took, proc = playbook(
            "playbooks/rollback.yml",
            "-i",
            inventory,
            "-l",
            "toodles",
            "-e",
            f"botfleet_rollback_to={old}",
            ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
            PROFILE_TASKS_TASK_OUTPUT_LIMIT="all",
        )
        prober.join(120)
        if prober.seconds is None:
            sys.exit("toodles never answered on the old versions after rollback.yml")
        until.append(prober.seconds)
        total.append(took)
        for task, seconds in profile_times(proc.stdout).items():
            profile.setdefault(task, []).append(sum(seconds))
        floors.append(floor())
        # Forward again, untimed.
        playbook("playbooks/rollback.yml", "-i", inventory, "-l", "toodles", "-e", f"botfleet_rollback_to={new}")
    return until, total, floors, profile


def story_rounds(rounds, source):
    pip = ["/opt/story/venv/bin/pip", "install", "--quiet", "--no-index", "--find-links", WHEELHOUSE]
    # The story's rollback reinstalled from the package index. The VM reaches PyPI through the
    # controller's intercepting proxy once it trusts the proxy's CA; no pip cache, as after days.
    old_pip = (
        pip
        if source == "wheelhouse"
        else ["/opt/story/venv/bin/pip", "install", "--quiet", "--no-cache-dir", "--cert", "/tmp/controller-ca.crt"]
    )
    if source != "wheelhouse":
        run(["podman", "cp", "/etc/ssl/certs/ca-certificates.crt", "botfleet-lab-vm2:/tmp/controller-ca.crt"])
    vm("systemctl", "stop", "botfleet-msoar.service")
    try:
        vm("python3", "-m", "venv", "/opt/story/venv")
        vm(*pip, "botfleet-demo-bot", *NEW)
        vm("sh", "-c", f"printf '%s' {shlex.quote(STORY_UNIT)} > /etc/systemd/system/story-msoar.service")
        vm("systemctl", "daemon-reload")
        vm("systemctl", "start", "story-msoar.service")
        answers_after("msoar", "webex_bot=1.3.1 ", time.monotonic())
        until = []
        for _round in range(rounds):
            started = time.monotonic()
            prober = Prober("msoar", "webex_bot=1.0.8 ", started)
            prober.start()
            vm(*old_pip, *OLD)
            vm("systemctl", "restart", "story-msoar.service")
            prober.join(120)
            if prober.seconds is None:
                sys.exit("msoar never answered on the old versions after the story's rollback")
            until.append(prober.seconds)
            vm(*pip, *NEW)
            vm("systemctl", "restart", "story-msoar.service")
            answers_after("msoar", "webex_bot=1.3.1 ", time.monotonic())
        return until
    finally:
        on_vm(
            "botfleet-lab-vm2",
            "sh",
            "-c",
            "systemctl stop story-msoar.service; rm -f /etc/systemd/system/story-msoar.service; "
            "systemctl daemon-reload; rm -rf /opt/story; systemctl start botfleet-msoar.service",
            expect_ok=False,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pypi", action="store_true", help="also the story's pip install from PyPI")
    args = parser.parse_args()
    until, total, floors, profile = botfleet_rounds(args.rounds)
    sources = ("wheelhouse", "PyPI") if args.pypi else ("wheelhouse",)
    stories = {source: story_rounds(args.rounds, source) for source in sources}

    ours, base = median(until), median(floors)
    lines = [
        f"rollback of one bot until it answers on the old versions (ssh, deploy + sudo), median of {args.rounds}:",
        f"  rollback.yml                                        {fmt_rounds(until)}",
        f"    rollback.yml to its end, gate included (stable 10s) {fmt_rounds(total)}",
    ]
    for source, story in stories.items():
        lines.append(f"  story: pip install old ({source:10s}) + restart   {fmt_rounds(story)}")
    lines += [
        f"  floor: systemctl restart, already switched          {fmt_rounds(floors)}",
        f"  rollback.yml / story ({sources[0]}) = {ours / median(stories[sources[0]]):.2f} "
        f"({'meets' if ours <= median(stories[sources[0]]) else 'MISSES'} the goal of <= 1)",
        f"  rollback.yml - floor = {ours - base:+.2f}s "
        f"({'meets' if ours - base <= 1.5 else 'MISSES'} the goal of <= +1.5 s)",
        "  rollback.yml's slowest tasks (profile_tasks, median over the rounds):",
    ]
    slowest = sorted(profile.items(), key=lambda item: -median(item[1]))[:8]
    lines += [f"    {median(seconds):5.2f}s  {task}" for task, seconds in slowest]
    report(
        "rollback_vs_story",
        {
            "rollback_until_answer": until,
            "rollback_playbook": total,
            "story_until_answer": stories,
            "floor_until_answer": floors,
            "rollback_profile": profile,
        },
        lines,
    )


if __name__ == "__main__":
    main()
