#!/usr/bin/python
# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: soak_report
short_description: What bots did during a window, from the journal and their state
version_added: 0.2.0
description:
  - Reads, for each bot of O(bots) since O(since), systemd's messages about its unit (starts, restarts scheduled
    by C(Restart=), whether each was the planned one of C(RuntimeMaxSec), exits of its main process with their
    status) and its own journal lines, counted by pattern kind (websocket connects and reconnects, connection
    errors, emergency reconnections, errors, warnings, tracebacks).
  - Adds what the bot's C(state.json) says about the messages botfleet sent it (the last probe and recent probe
    latencies), so that a rollout can judge a canary's idle time and latency.
  - One C(journalctl) call reads every bot of the host. The module judges nothing; the rollout compares a
    canary with its baseline bots (filter P(botfleet.deploy.soak_verdict#filter)).
  - With O(watch), it keeps reading for O(watch) seconds, and stops early at the first crash (an unplanned restart
    or a failed exit) since O(since), which is how C(canary.yml) watches a canary after its gate.
author: botfleet maintainers (@botfleet)
options:
  bots:
    description:
      - The bots to read, by name; each one's unit is C(botfleet-<name>.service).
    type: list
    elements: str
    required: true
    version_added: 0.2.0
  since:
    description:
      - Start of the window, as seconds since the epoch or a UTC timestamp C(YYYY-MM-DDTHH:MM:SSZ) (a canary
        mark's C(at)).
    type: str
    required: true
    version_added: 0.2.0
  watch:
    description:
      - Keep reading for this many seconds (from the module's start; the window itself starts at O(since));
        V(0) reads once.
    type: float
    default: 0
    version_added: 0.2.0
  patterns:
    description:
      - Regular expressions (Python syntax) per kind, replacing the webex_bot defaults of that kind.
      - Kinds are C(connect), C(connection_error), C(emergency), C(error), C(warning) and C(traceback).
    type: dict
    default: {}
    version_added: 0.2.0
  redact:
    description:
      - Strings (tokens) masked, with their prefixes of 8 characters or more, in every returned journal line.
    type: list
    elements: str
    default: []
    version_added: 0.2.0
  root:
    description:
      - Directory of the bots' releases.
    type: path
    default: /opt/botfleet
    version_added: 0.2.0
  state_dir:
    description:
      - Directory of the bots' state files.
    type: path
    default: /var/lib/botfleet
    version_added: 0.2.0
attributes:
  check_mode:
    support: full
    description: The module only reads; in check mode it reads as usual.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
seealso:
  - module: botfleet.deploy.unit_health
"""

EXAMPLES = r"""
- name: Read what the canary and its baseline did since the canary passed
  botfleet.deploy.soak_report:
    bots: [barnacles, toodles, money_ball]
    since: "2026-11-28T06:00:00Z"
  register: soak

- name: Watch the canary for a minute after its gate
  botfleet.deploy.soak_report:
    bots: [barnacles]
    since: "{{ now(utc=true).timestamp() | int }}"
    watch: 60
"""

RETURN = r"""
window:
  description: The window read, as UTC timestamps, and its length in seconds.
  returned: always
  type: dict
  sample: {since: "2026-11-28T06:00:00Z", until: "2026-11-28T14:02:11Z", seconds: 28931}
outcome:
  description: V(watched) when the whole window was read, V(crashed) when O(watch) stopped at a crash.
  returned: always
  type: str
bots:
  description:
    - Per bot, C(unit), C(starts), C(restarts) (unplanned), C(planned_restarts) (C(RuntimeMaxSec)),
      C(failed_exits), C(last_exit) (C(at), C(code), C(status)), C(connects), C(reconnects),
      C(connection_errors), C(emergency_reconnects), C(errors), C(warnings), C(tracebacks), C(samples)
      (the last matched lines, secrets masked), C(last_probe), C(probes_in_window) and C(latencies).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.botfleet.deploy.plugins.module_utils.release import ReleaseError
from ansible_collections.botfleet.deploy.plugins.module_utils.soak import SoakError, soak_report


def main():
    module = AnsibleModule(
        argument_spec={
            "bots": {"type": "list", "elements": "str", "required": True},
            "since": {"type": "str", "required": True},
            "watch": {"type": "float", "default": 0},
            "patterns": {"type": "dict", "default": {}},
            "redact": {"type": "list", "elements": "str", "default": [], "no_log": True},
            "root": {"type": "path", "default": "/opt/botfleet"},
            "state_dir": {"type": "path", "default": "/var/lib/botfleet"},
        },
        supports_check_mode=True,
    )
    try:
        result = soak_report(module.run_command, module.params)
    except (SoakError, ReleaseError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
