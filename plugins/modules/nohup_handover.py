#!/usr/bin/python
# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: nohup_handover
short_description: Hand a bot over from its hand-started process to its unit, or give it back
version_added: 0.2.0
description:
  - With O(state=adopted), the bot's unit (already installed by its first release's switch) takes over from the
    one process matching O(match), with the smallest gap. The process's command line, working directory, user,
    output file and environment are first kept in C(<state_dir>/<bot>/adopted-from.json) (mode 0600, root), and
    the values of O(secrets) taken from its environment into the bot's secrets file
    C(<config_dir>/<bot>.env) (0600). The process is then sent SIGTERM (SIGKILL after O(stop_timeout) seconds),
    and the unit is started as soon as it has exited; the gap between the two is measured and returned.
  - With O(state=restored), the unit is stopped and disabled, the switch of the adoption taken back (no current
    link, no unit file, C(state.json) records the failed adoption), and the recorded command started again as it
    was, as the same user, in the same directory, appending to the same log file, with the same environment, and
    ignoring SIGHUP as under nohup. A process matching O(match) that already runs is not started twice.
  - No secret value is ever returned.
author: botfleet maintainers (@botfleet)
options:
  bot:
    description:
      - Name of the bot.
    type: str
    required: true
    version_added: 0.2.0
  match:
    description:
      - A part of the command line that only the bot's hand-started process has (as for M(botfleet.deploy.nohup_facts)).
    type: str
    required: true
    version_added: 0.2.0
  state:
    description:
      - C(adopted) hands the bot over to its unit, C(restored) gives it back to its hand-started command.
    type: str
    default: adopted
    choices: [adopted, restored]
    version_added: 0.2.0
  secrets:
    description:
      - Names of the environment variables whose values go from the process into the bot's secrets file.
    type: list
    elements: str
    default: []
    version_added: 0.2.0
  stop_timeout:
    description:
      - Seconds to wait for the process to exit after SIGTERM before it is killed.
    type: int
    default: 20
    version_added: 0.2.0
  root:
    description:
      - Where the bots' releases are.
    type: path
    default: /opt/botfleet
    version_added: 0.2.0
  state_dir:
    description:
      - Where the bots' state files are.
    type: path
    default: /var/lib/botfleet
    version_added: 0.2.0
  config_dir:
    description:
      - Where the bots' secrets files are.
    type: path
    default: /etc/botfleet
    version_added: 0.2.0
  unit_dir:
    description:
      - Where the bots' units are installed.
    type: path
    default: /etc/systemd/system
    version_added: 0.2.0
  reason:
    description:
      - With O(state=restored), why the adoption failed, recorded in C(state.json).
    type: str
    default: ""
    version_added: 0.2.0
attributes:
  check_mode:
    description: In check mode the process is found and nothing is stopped, written or started.
    support: full
  diff_mode:
    description: The handover is a stop and a start, which the returned pid and gap describe.
    support: none
"""

EXAMPLES = r"""
- name: Hand barnacles over to its unit
  botfleet.deploy.nohup_handover:
    bot: barnacles
    match: webex_bots/barnacles.py
    secrets: [WEBEX_BOT_TOKEN]
  register: handover

- name: Give barnacles back to its hand-started command
  botfleet.deploy.nohup_handover:
    bot: barnacles
    match: webex_bots/barnacles.py
    state: restored
    reason: its gate failed
"""

RETURN = r"""
pid:
  description: With O(state=adopted), the process that was stopped; with O(state=restored), the one that runs now.
  returned: changed
  type: int
gap:
  description: Seconds between the exit of the hand-started process and the start of the unit.
  returned: O(state=adopted) and changed
  type: float
stop_seconds:
  description: Seconds the hand-started process took to exit.
  returned: O(state=adopted) and changed
  type: float
killed:
  description: Whether the process had to be killed.
  returned: O(state=adopted) and changed
  type: bool
log:
  description: The file the hand-started process wrote its output to (it stays where it is).
  returned: success
  type: str
restarted:
  description: With O(state=restored), whether the command was started again.
  returned: O(state=restored)
  type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.botfleet.deploy.plugins.module_utils.adopt import (
    AdoptError,
    Handover,
    command_lines,
    matching,
    own_lineage,
    read_process,
    take_back_switch,
    the_one,
)
from ansible_collections.botfleet.deploy.plugins.module_utils.release import ReleaseError, ReleaseStore, check_bot_name
from ansible_collections.botfleet.deploy.plugins.module_utils.specs import nohup_handover_spec


def adopt(module, handover):
    params = module.params
    found = matching(command_lines(exclude=own_lineage()), params["match"])
    if not found and os.path.exists(handover.record_path):
        # Handed over by an earlier run: the record stays, the process is gone.
        return {"changed": False, "log": handover.read_record().get("log")}
    pid, _argv = the_one(dict(found), params["match"])
    info = read_process(pid)
    missing = [key for key in params["secrets"] if key not in info["environ"]]
    if missing:
        raise AdoptError(f"process {pid} of {params['bot']} has no {', '.join(missing)} in its environment")
    if module.check_mode:
        return {"changed": True, "pid": pid, "log": info["log"]}
    env_path = os.path.join(params["config_dir"], f"{params['bot']}.env")
    handover.save(info, env_path, params["secrets"])
    return dict(handover.hand_over(pid, params["stop_timeout"]), changed=True, pid=pid, log=info["log"])


def restore(module, handover):
    params = module.params
    if module.check_mode:
        return {"changed": True}
    store = ReleaseStore(params["root"], params["state_dir"], params["bot"])
    unit = os.path.join(params["unit_dir"], handover.unit)
    # The unit's own process runs the same script: it is stopped before looking for the bot's.
    handover.run_command(["systemctl", "disable", "--now", "--", handover.unit])
    take_back_switch(store, unit, params["reason"] or "adoption failed", handover.run_command)
    found = matching(command_lines(exclude=own_lineage()), params["match"])
    if found:
        # Never stopped (the adoption failed before its handover): it runs as it was.
        return {"changed": True, "pid": found[0][0], "restarted": False}
    record = handover.read_record()
    result = handover.give_back(record, None)
    return dict(result, changed=True, log=record.get("log"))


def main():
    module = AnsibleModule(argument_spec=nohup_handover_spec(), supports_check_mode=True)
    params = module.params
    try:
        check_bot_name(params["bot"])
    except ReleaseError as exc:
        module.fail_json(msg=str(exc))
    handover = Handover(
        module.run_command,
        params["bot"],
        f"botfleet-{params['bot']}.service",
        os.path.join(params["state_dir"], params["bot"], "adopted-from.json"),
    )
    try:
        result = adopt(module, handover) if params["state"] == "adopted" else restore(module, handover)
    except (AdoptError, ReleaseError) as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg=f"{params['bot']}: {exc.strerror}: {exc.filename}" if exc.filename else str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
