"""Benchmark: rollback.yml against the story's rollback, both until the bot answers again.

The story's method (see the README): pip install the old versions into the bot's venv, restart the
process, then send it a message. Here it runs on lab-vm2 with msoar's identity, in a plain venv
(/opt/story/venv) under a plain unit, with pip installing from the VM's wheelhouse (--no-index):
the best case for the story, since the real one downloaded from PyPI.

botfleet's method: `rollback.yml -l toodles -e botfleet_rollback_to=<old id>`, which switches
`current` to that already built release, restarts and gates (unit stable 10 s, venv, probe).

For both, a prober on the controller starts with the rollback and sends the bot "status" every
few hundred milliseconds until a reply shows the old versions (webex_bot=1.0.8): "until the bot
answers again". rollback.yml's own end (after its gate) is reported too.
Needs the lab up and provisioned (`make demo` leaves it so). Restores what it changes.

    .venv/bin/python bench/rollback_vs_story.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import threading
import time

from common import REPO, median, playbook, report, run

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
    run(["podman", "exec", "botfleet-lab-vm2", *argv])


def toodles_releases():
    """{webex_bot version: release id} of toodles's built releases, and the current id."""
    script = (
        "import glob, json, os\n"
        "ids = {json.load(open(f))['resolved']['webex-bot']: f.split('/')[-2]"
        " for f in glob.glob('/opt/botfleet/toodles/releases/*/release.json')}\n"
        "print(json.dumps([ids, os.path.basename(os.readlink('/opt/botfleet/toodles/current'))]))"
    )
    _took, proc = run(["podman", "exec", "botfleet-lab-vm1", "python3", "-c", script])
    return json.loads(proc.stdout)


def botfleet_rounds(rounds):
    inventory = REPO / "inventories" / "lab"
    # Both releases built, toodles on the new one (what the demo leaves may be either).
    playbook("playbooks/canary.yml", "-i", inventory, "-l", "toodles", "-e", "@lab/pins/new.yml")
    ids, current = toodles_releases()
    old, new = ids["1.0.8"], ids["1.3.1"]
    if current != new:
        playbook("playbooks/rollback.yml", "-i", inventory, "-l", "toodles", "-e", f"botfleet_rollback_to={new}")
    until, total = [], []
    for _round in range(rounds):
        started = time.monotonic()
        prober = Prober("toodles", "webex_bot=1.0.8 ", started)
        prober.start()
        # The release is named: a plain rollback after the forward switch below would be a
        # second rollback in a row, which rollback.yml refuses to guess (it says so).
        took, _proc = playbook(
            "playbooks/rollback.yml", "-i", inventory, "-l", "toodles", "-e", f"botfleet_rollback_to={old}"
        )
        prober.join(120)
        if prober.seconds is None:
            sys.exit("toodles never answered on the old versions after rollback.yml")
        until.append(prober.seconds)
        total.append(took)
        # Forward again, untimed.
        playbook("playbooks/rollback.yml", "-i", inventory, "-l", "toodles", "-e", f"botfleet_rollback_to={new}")
    return until, total


def story_rounds(rounds, source):
    pip = ["/opt/story/venv/bin/pip", "install", "--quiet", "--no-index", "--find-links", WHEELHOUSE]
    # The story's rollback reinstalled from the package index. The VM reaches PyPI through the
    # controller's intercepting proxy once it trusts the proxy's CA; no pip cache, as after days.
    old_pip = (
        pip
        if source == "wheelhouse"
        else ["/opt/story/venv/bin/pip", "install", "--quiet", "--no-cache-dir", "--cert", "/tmp/controller-ca.crt"]
    )
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
        run(
            [
                "podman",
                "exec",
                "botfleet-lab-vm2",
                "sh",
                "-c",
                "systemctl stop story-msoar.service; rm -f /etc/systemd/system/story-msoar.service; "
                "systemctl daemon-reload; rm -rf /opt/story; systemctl start botfleet-msoar.service",
            ],
            expect_ok=False,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    until, total = botfleet_rounds(args.rounds)
    stories = {source: story_rounds(args.rounds, source) for source in ("PyPI", "wheelhouse")}

    def fmt(values):
        return f"{median(values):6.2f}s  ({' '.join(f'{v:.2f}' for v in values)})"

    lines = [
        f"rollback of one bot until it answers on the old versions, median of {args.rounds}:",
        f"  rollback.yml                                       {fmt(until)}",
        f"  rollback.yml to its end, gate included (stable 10s) {fmt(total)}",
    ]
    for source, story in stories.items():
        ratio = median(until) / median(story)
        lines.append(f"  story: pip install old ({source:10s}) + restart  {fmt(story)}")
        lines.append(
            f"    rollback.yml / story = {ratio:.2f} ({'meets' if ratio <= 1 / 3 else 'MISSES'} the goal of "
            f"<= 0.33); with its gate {median(total) / median(story):.2f}"
        )
    report(
        "rollback_vs_story",
        {"rollback_until_answer": until, "rollback_playbook": total, "story_until_answer": stories},
        lines,
    )


if __name__ == "__main__":
    main()
