# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Callback: name the bots whose VM was lost during a run, and what each may be running."""

from __future__ import annotations

DOCUMENTATION = r"""
name: lost_hosts
type: aggregate
short_description: Names the bots whose VM was lost during a botfleet run, and what each may be running
version_added: 0.2.0
description:
  - Ansible drops a host it cannot reach from the rest of the playbook, and ends a playbook whose hosts are all
    lost at once, so none of botfleet's rescue, summary or notification tasks runs for them. A canary or a rollback
    of one bot whose VM goes away mid-run would otherwise end with Ansible's connection error only.
  - At the end of the playbook this callback prints, for each bot that could not be reached by a task that did not
    expect it (tasks with C(ignore_unreachable) are the playbooks' own reachability checks and are left out), its VM
    (C(botfleet_vm)), the task, whether the run had switched the bot's release before the loss, and the commands to
    run once the VM is back.
  - It prints nothing when no bot was lost.
requirements:
  - Enable it in C(ansible.cfg) (C(callbacks_enabled = botfleet.deploy.lost_hosts)) or with
    C(ANSIBLE_CALLBACKS_ENABLED=botfleet.deploy.lost_hosts); the collection's C(ansible.cfg) enables it.
"""

import os

from ansible import constants as C
from ansible import context
from ansible.plugins.callback import CallbackBase

from ansible_collections.botfleet.deploy.plugins.plugin_utils.lost import LostRun

_RELEASE_ACTIONS = ("botfleet.deploy.release", "release")


class CallbackModule(CallbackBase):
    """Collects switches and losses per bot; prints the lost bots at the end."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "botfleet.deploy.lost_hosts"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self._run = LostRun()

    def v2_playbook_on_start(self, playbook):
        self._run = LostRun(os.path.basename(playbook._file_name))

    def v2_runner_on_ok(self, result):
        task, outcome = result.task, result.result
        # In check mode the release module reports what it would switch; nothing was.
        if context.CLIARGS.get("check"):
            return
        if task.action in _RELEASE_ACTIONS and outcome.get("switched"):
            self._run.switched(
                result.host.get_name(),
                task.args.get("state"),
                outcome.get("release_id"),
                outcome.get("previous_id"),
            )

    def v2_runner_on_unreachable(self, result):
        if result.task.ignore_unreachable:
            return
        host = result.host
        self._run.lost(host.get_name(), host.vars.get("botfleet_vm"), result.task_name)

    def v2_playbook_on_stats(self, stats):
        lines = self._run.lines()
        if not lines:
            return
        self._display.banner("BOTFLEET: BOTS LOST DURING THE RUN")
        for line in lines:
            self._display.display(line, color=C.COLOR_ERROR)
