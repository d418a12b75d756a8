#!/usr/bin/python
# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: run_lease
short_description: Take or release the run lease of a bot, so that one playbook run at a time changes it
version_added: 0.2.0
description:
  - A playbook run (canary, rollout, rollback, provision) takes the lease of every bot it will touch before it changes
    anything, and releases it at the end. A second run that asks for the lease of the same bot fails at once and the
    message names the run holding it.
  - The lease is the file C(<state_dir>/<bot>/lease.json) on the bot's host. It names its holder (the run's id, the
    controller's host name, the pid of the C(ansible-playbook) process, the controller user and the playbook) and
    when it was acquired, renewed and when it expires. It is read and written under the bot's lock, the one the
    M(botfleet.deploy.release) module takes, so of two runs asking at the same moment exactly one gets it.
  - A run is told apart by its id, which the controller computes from its host name, the pid of the
    C(ansible-playbook) process and the time that process started, so all tasks of one run share it and a later run
    that happens to get the same pid does not.
  - O(state=held) takes the lease when the bot has none. When this run holds it already, it renews its expiry and
    reports no change, so the task can be repeated (for example before each batch of a long rollout).
  - A lease of another run is broken only with O(break_lease=true), and only when it has expired or its run is gone.
    A run is known to be gone only on the controller it ran on, when its process has ended. The break is recorded in
    the bot's C(state.json) history as a C(lease_broken) event naming the old and the new holder.
  - O(state=released) removes the lease when this run holds it. The lease of another run is never removed; the task
    then reports no change and warns, naming the holder.
author: botfleet maintainers (@botfleet)
extends_documentation_fragment:
  - botfleet.deploy.bot_state
options:
  state:
    description:
      - V(held) takes or renews the lease, V(released) gives it back; see the description.
    type: str
    default: held
    choices: [held, released]
    version_added: 0.2.0
  playbook:
    description:
      - The playbook of the run, shown to a run that finds the lease taken, for example V(rollout.yml).
    type: str
    version_added: 0.2.0
  ttl:
    description:
      - Seconds the lease lasts after it is taken or renewed. Once expired it can be broken by another run with
        O(break_lease=true); renew it with another O(state=held) task before then.
    type: int
    default: 3600
    version_added: 0.2.0
  break_lease:
    description:
      - Take over a lease of another run that has expired or whose run is gone. A live lease of a run not known to be
        gone is never broken.
      - The playbooks set it from C(botfleet_break_lease).
    type: bool
    default: false
    version_added: 0.2.0
  _holder:
    description:
      - Internal, set by the action plugin; the identity of the run and the runs its controller found gone. Tasks must
        not set it.
    type: dict
    version_added: 0.2.0
attributes:
  check_mode:
    support: full
    description: Reports whether the lease would be taken, renewed, broken or released, and its holder; writes nothing.
  diff_mode:
    support: none
    description: The lease before and after the task is in the C(holder) and C(lease) results.
  action:
    support: full
    description: The identity of the run, and whether the run holding the lease is gone, are found on the controller.
notes:
  - Runs on the same controller are told apart by pid and process start time; a run on another controller is only
    known to be gone once its lease expires, so break a lease left by a killed run from the controller it ran on, or
    wait for O(ttl).
  - The expiry is judged by the clock of the bot's host, which also wrote it.
seealso:
  - module: botfleet.deploy.release
"""

EXAMPLES = r"""
- name: Take the lease of jarvis for this rollout
  botfleet.deploy.run_lease:
    bot: jarvis
    playbook: rollout.yml
    break_lease: "{{ botfleet_break_lease | default(false) }}"

- name: Give the lease of jarvis back
  botfleet.deploy.run_lease:
    bot: jarvis
    state: released
"""

RETURN = r"""
bot:
  description: The bot.
  returned: always
  type: str
  sample: jarvis
lease:
  description: The bot's lease after the task (in check mode, as it would be), null when it has none.
  returned: always
  type: dict
  sample:
    holder:
      run_id: ctl1:4242:5c1e9a0b-1234567
      controller: ctl1
      pid: 4242
      user: alice
      playbook: rollout.yml
    acquired: "2026-11-28T07:01:02Z"
    renewed: "2026-11-28T07:01:02Z"
    expires: "2026-11-28T08:01:02Z"
  contains:
    holder:
      description: The run holding the lease (C(run_id), C(controller), C(pid), C(user), C(playbook)).
      type: dict
    acquired:
      description: When the holder took the lease (UTC).
      type: str
    renewed:
      description: When the holder last took or renewed it (UTC).
      type: str
    expires:
      description: When it expires (UTC) unless renewed.
      type: str
holder:
  description: The holder of the lease found before the task (this run when it held the lease already), null when the
    bot had no lease. When the task fails because another run holds the lease, that run.
  returned: always
  type: dict
  sample: {run_id: "ctl1:4242:5c1e9a0b-1234567", controller: ctl1, pid: 4242, user: alice, playbook: rollout.yml}
broken:
  description: Whether this task broke the lease of another run (in check mode, would break it).
  returned: always
  type: bool
msg:
  description: With a broken lease, whose lease was broken and why.
  returned: when a lease was broken
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.botfleet.deploy.plugins.module_utils.lease import LeaseError, run_lease
from ansible_collections.botfleet.deploy.plugins.module_utils.specs import run_lease_spec


def main():
    module = AnsibleModule(argument_spec=run_lease_spec(), supports_check_mode=True)
    try:
        result = run_lease(module.params, check_mode=module.check_mode, warn=module.warn)
    except LeaseError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
