#!/usr/bin/python
# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: unit_health
short_description: Wait until a systemd unit is healthy, or say why it is not
version_added: 0.1.0
description:
  - Waits up to O(timeout) seconds until the unit is active and running, its main process has been up for
    O(stable_for) seconds, and (when O(ready_pattern) is given) a journal line of its current run matched it.
  - Fails at once when the unit fails, restarts or changes its main process while being watched, or when a journal
    line of its current run (since its last activation) matches one of O(fail_patterns).
  - Only the unit's own output is read (journal entries with the unit's current C(_SYSTEMD_INVOCATION_ID)).
  - A running process is not a healthy bot; pair this with an end-to-end probe such as M(botfleet.deploy.webex_probe).
author: botfleet maintainers (@botfleet)
options:
  unit:
    description:
      - Name of the unit, for example C(botfleet-barnacles.service).
    type: str
    required: true
    version_added: 0.1.0
  timeout:
    description:
      - Seconds to wait for the unit to become healthy.
    type: int
    default: 60
    version_added: 0.1.0
  stable_for:
    description:
      - Seconds the main process must have been up without a restart.
    type: int
    default: 10
    version_added: 0.1.0
  fail_patterns:
    description:
      - Regular expressions (Python syntax); a journal line of the current run matching one fails the check.
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  ready_pattern:
    description:
      - Regular expression a journal line of the current run must match before the unit counts as healthy.
    type: str
    version_added: 0.1.0
  redact:
    description:
      - Strings (such as tokens) to mask in every returned journal line, with every prefix of them of 8 characters
        or more (a token the bot logged cut short).
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  poll_interval:
    description:
      - Seconds between two observations.
    type: float
    default: 1.0
    version_added: 0.1.0
attributes:
  check_mode:
    support: full
    description: The module only reads; in check mode it watches as usual.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
seealso:
  - module: botfleet.deploy.bot_facts
  - module: botfleet.deploy.webex_probe
"""

EXAMPLES = r"""
- name: Wait until barnacles is up, connected and quiet
  botfleet.deploy.unit_health:
    unit: botfleet-barnacles.service
    timeout: 90
    stable_for: 15
    ready_pattern: "connected to Webex"
    fail_patterns:
      - "Traceback \\(most recent call last\\)"
      - "unexpected keyword argument 'extra_headers'"
"""

RETURN = r"""
unit:
  description: The unit's name as systemd reports it.
  returned: always
  type: str
active_state:
  description: systemd ActiveState at the last observation.
  returned: always
  type: str
  sample: active
sub_state:
  description: systemd SubState at the last observation.
  returned: always
  type: str
  sample: running
main_pid:
  description: Main PID, null when not running.
  returned: always
  type: int
restarts:
  description: systemd NRestarts (automatic restarts since the unit was last started by hand).
  returned: always
  type: int
active_since:
  description: When the unit last became active, as systemd prints it.
  returned: always
  type: str
uptime:
  description: Seconds the main process has been up.
  returned: always
  type: float
invocation_id:
  description: systemd's id of the unit's current run; the journal lines checked are this run's.
  returned: always
  type: str
waited:
  description: Seconds spent watching.
  returned: always
  type: float
matched_lines:
  description: Journal lines that matched O(fail_patterns) (at most 20; O(redact) strings masked).
  returned: always
  type: list
  elements: str
ready_line:
  description: The journal line that matched O(ready_pattern).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.botfleet.deploy.plugins.module_utils.health import HealthError, watch_unit
from ansible_collections.botfleet.deploy.plugins.module_utils.specs import unit_health_spec


def main():
    module = AnsibleModule(argument_spec=unit_health_spec(), supports_check_mode=True)
    try:
        verdict, reason, report = watch_unit(module.run_command, module.params)
    except HealthError as exc:
        module.fail_json(msg=str(exc))
    if verdict != "healthy":
        module.fail_json(msg=f"{module.params['unit']} is not healthy: {reason}", **report)
    module.exit_json(changed=False, **report)


if __name__ == "__main__":
    main()
