#!/usr/bin/python
# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: journal
short_description: Record a verdict in a bot's deployment journal, or read the journal
version_added: 0.2.0
description:
  - The deployment journal of a bot is its C(<state_dir>/<bot>/state.json) (docs/architecture.md, "On a VM"). The
    M(botfleet.deploy.release) module writes its C(history) when it switches, rolls back or prunes; this module
    records the verdicts of canaries, gates, soaks, rollouts and rollbacks, and reads what the journal says.
  - With O(record), appends the verdict to the journal's C(verdicts), under the bot's lock (the one
    M(botfleet.deploy.release) takes). A C(canary) verdict also becomes the bot's canary mark, which
    C(rollout.yml) requires; a verdict with a C(latency), or a C(gate) that sent a message, becomes the bot's last
    probe, from which the next "first message after idle" counts.
  - Without O(record), only reads; O(history) says how many of the newest entries to return.
  - Replaces O(botfleet.deploy.release#module:state=recorded), which still works in this release and warns.
author: botfleet maintainers (@botfleet)
extends_documentation_fragment:
  - botfleet.deploy.bot_state
options:
  root:
    description:
      - Directory holding one release directory per bot; the verdict is about the release its C(current) points to
        unless C(record.release_id) names one.
    type: path
    default: /opt/botfleet
  record:
    description:
      - The verdict to record.
      - C(event) is one of C(canary), C(rollout), C(rollback), C(gate), C(soak), C(provision), C(adopt); C(verdict) is
        C(passed) or C(failed); C(release_id) defaults to the current release; C(venv_id) is that release's venv id
        (a canary mark with it covers every bot whose release has the same venv); C(reason) says what failed;
        C(latency) is the probe's.
      - C(probed) (gate) says whether a message was sent; a gate without one leaves the bot's last probe as it was.
        C(switched) (canary) false keeps the passed mark of the release the bot still runs. C(rows) (soak) is the
        comparison table of the canary and its baseline. C(log) (adopt) is where the bot logged before its adoption.
    type: dict
  history:
    description:
      - How many of the newest C(verdicts) and C(history) entries to return; V(0) returns none.
    type: int
    default: 0
  state_group:
    description:
      - Group of C(state.json), which is written with mode C(0640); when the host has no such group, the file keeps
        the group of the user that runs the module.
    type: str
    default: botfleet
  redact:
    description:
      - Secrets to mask, with every prefix of them of 8 characters or more, in the result and in what is written, so
        that a failure quoted into a verdict's C(reason) never records part of one.
      - The action always adds the values of the host's C(botfleet_secrets) and the C(token) of its C(botfleet_probe)
        and C(botfleet_notify).
    type: list
    elements: str
    default: []
  lock_timeout:
    description:
      - Seconds to wait for another run holding the bot's lock.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    description: In check mode the entry is computed and returned, and nothing is written.
  diff_mode:
    support: none
    description: A verdict is bookkeeping; the entry returned is what would be written.
seealso:
  - module: botfleet.deploy.release
"""

EXAMPLES = r"""
- name: Mark barnacles' canary as passed
  botfleet.deploy.journal:
    bot: barnacles
    record:
      event: canary
      verdict: passed
      latency: 0.84

- name: Read the last ten entries of toodles' journal
  botfleet.deploy.journal:
    bot: toodles
    history: 10
  register: toodles_journal
"""

RETURN = r"""
recorded:
  description: The entry written to the journal's C(verdicts) (and, for a canary, its canary mark).
  returned: with O(record)
  type: dict
  sample: {event: canary, verdict: passed, release: 3f9c2a61b0d4, at: "2026-11-27T08:00:00Z", reason: "", latency: 0.84}
current_id:
  description: The release the bot's C(current) points to, or null.
  returned: always
  type: str
previous_id:
  description: The release the bot ran before, as the journal records it, or null.
  returned: always
  type: str
canary:
  description: The bot's canary mark (release, verdict, time, venv), or null.
  returned: always
  type: dict
last_probe:
  description: The bot's last probe (time, release, verdict, latency), or null.
  returned: always
  type: dict
verdicts:
  description: The newest O(history) verdicts, oldest first.
  returned: always
  type: list
  elements: dict
history:
  description: The newest O(history) entries of the journal's history (builds, switches, rollbacks), oldest first.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.botfleet.deploy.plugins.module_utils.journal import read_journal, record_verdict
from ansible_collections.botfleet.deploy.plugins.module_utils.release import ReleaseError, ReleaseStore
from ansible_collections.botfleet.deploy.plugins.module_utils.scrub import Scrubber, record_secrets
from ansible_collections.botfleet.deploy.plugins.module_utils.specs import journal_spec
from ansible_collections.botfleet.deploy.plugins.module_utils.validate import absolute_path_problem


def main():
    module = AnsibleModule(argument_spec=journal_spec(), supports_check_mode=True)
    params = module.params
    scrub = Scrubber(record_secrets(params["redact"]))
    for option in ("root", "state_dir"):
        problem = absolute_path_problem(params[option], option)
        if problem is not None:
            module.fail_json(msg=problem, changed=False)
    if params["history"] < 0:
        module.fail_json(msg=f"history={params['history']}: give a number of entries, 0 or more", changed=False)
    result = {"changed": False, "bot": params["bot"]}
    try:
        store = ReleaseStore(params["root"], params["state_dir"], params["bot"], params["lock_timeout"])
        store.scrub = scrub
        store.state_group = params["state_group"]
        if params["record"] is not None:
            result.update(changed=True, recorded=record_verdict(store, params["record"], module.check_mode))
        result.update(read_journal(store, params["history"]))
    except ReleaseError as exc:
        module.fail_json(msg=scrub(str(exc)), **scrub(result))
    module.exit_json(**scrub(result))


if __name__ == "__main__":
    main()
