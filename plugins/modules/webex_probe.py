#!/usr/bin/python
# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: webex_probe
short_description: Send a bot a message through Webex and wait for its answer
version_added: 0.1.0
description:
  - An end-to-end probe of a Webex bot. As a probe identity (O(token)), sends O(text) to the bot, directly
    (O(to_person_email), O(to_person_id)) or in a room (O(room_id)), then reads the room's newest messages
    until the bot's answer matching O(expect) arrives, for at most O(timeout) seconds.
  - An answer is a message of the bot that is threaded under the probe message (webex_bot threads its replies
    under the message they answer), or not threaded and created after it. A reply threaded under another
    message answers someone else and does not count.
  - This is what a running process cannot tell, whether Webex still routes messages to the bot and whether
    the bot answers. It fails closed, with a message that says why (no answer in time, a refused token,
    an unreachable API, Webex errors that outlasted the retries).
  - Transient answers of Webex (HTTP 429, 5xx) are retried as O(max_retries) and C(Retry-After) say, never
    past O(timeout).
author: botfleet maintainers (@botfleet)
extends_documentation_fragment:
  - botfleet.deploy.webex
options:
  to_person_email:
    description:
      - Email address of the bot; the probe goes to it as a direct message.
      - Exactly one of O(to_person_email), O(to_person_id) and O(room_id) is required.
    type: str
    version_added: 0.1.0
  to_person_id:
    description:
      - Webex person id of the bot; the probe goes to it as a direct message.
    type: str
    version_added: 0.1.0
  room_id:
    description:
      - Id of a room that the probe identity and the bot are members of; the probe is posted there.
      - The bot is known by O(bot_email) or O(bot_id), one of which is then required.
      - The probe identity must be able to read the room's messages; in group rooms that is a person, not a bot.
    type: str
    version_added: 0.1.0
  bot_email:
    description:
      - Email address of the bot, whose reply the probe waits for. Defaults to O(to_person_email).
    type: str
    version_added: 0.1.0
  bot_id:
    description:
      - Webex person id of the bot, whose reply the probe waits for. Defaults to O(to_person_id).
    type: str
    version_added: 0.1.0
  mention:
    description:
      - With O(room_id), mention the bot at the start of the probe message (in markdown, with the bot's display
        name). In a group room Webex delivers to a bot only the messages that mention it.
      - The bot is looked up (C(people?email=) or C(people/{id})) for its display name.
      - Ignored for direct messages.
    type: bool
    default: true
    version_added: 0.1.0
  text:
    description:
      - The message sent to the bot, a command it answers.
    type: str
    default: status
    version_added: 0.1.0
  expect:
    description:
      - Regular expression (Python syntax) the text of the bot's reply must match (searched, not anchored).
      - Replies of the bot that do not match (such as a "working on it" message) are passed over.
    type: str
    default: .+
    version_added: 0.1.0
  timeout:
    description:
      - Seconds from sending the probe until it fails for want of an answer. Retries of failed requests and
        the waits they need count against it.
    type: int
    default: 30
    version_added: 0.1.0
  interval:
    description:
      - Seconds between two reads of the room's messages. The first reads come sooner (after 0.25 s, then
        twice as long each time up to O(interval)), since a healthy bot answers within a second.
    type: float
    default: 1.0
    version_added: 0.1.0
attributes:
  check_mode:
    support: full
    description:
      - A probe posts a real message, so in check mode nothing is sent and no request is made. The result is
        skipped, with C(msg) saying what the probe would do.
  diff_mode:
    support: none
    description: A probe changes no state that a diff could show.
notes:
  - The result is never C(changed). A probe posts a message and the bot answers, but nothing about the bot or
    its host changes, and a gate that runs a probe should leave a converged play at C(changed=0).
  - The RV(latency) is measured from sending the probe to the read that saw the answer, so it includes the
    polling delay; RV(reply_delay) is the time between the two messages as Webex recorded them.
  - In group rooms, webex_bot (1.0.x to 1.3.x) sees the mention's name in front of the command (it means to
    remove its display name but resets it after reading it), so a command registered with an exact keyword
    match, such as the lab bot's C(status), is not recognized there. Probe such commands in a direct message,
    or use a command matched as a substring (C(echo <marker>) with O(expect=<marker>)).
  - Messages sent while the bot was not connected are lost for good (webex_bot does not catch up), so a probe
    that timed out is not answered later.
seealso:
  - module: botfleet.deploy.webex_notify
  - module: botfleet.deploy.unit_health
"""

EXAMPLES = r"""
- name: Ask barnacles for its status and wait for the answer
  botfleet.deploy.webex_probe:
    token: "{{ botfleet_probe_token }}"
    to_person_email: barnacles@webex.bot
    text: status
    expect: "websockets=16\\.1"
    timeout: 30
  delegate_to: localhost

- name: Probe a bot in a group room (the probe mentions it)
  botfleet.deploy.webex_probe:
    token: "{{ botfleet_probe_token }}"
    room_id: "{{ botfleet_probe_room }}"
    bot_email: barnacles@webex.bot
  delegate_to: localhost

- name: Probe a lab bot through the local Webex emulator
  botfleet.deploy.webex_probe:
    token: lab-probe-token
    base_url: http://127.0.0.1:8790/v1/
    to_person_email: barnacles@lab.botfleet.invalid
    timeout: 10
  delegate_to: localhost
  register: __botfleet_probe
"""

RETURN = r"""
latency:
  description: Seconds from sending the probe to seeing the bot's matching answer.
  returned: success
  type: float
  sample: 1.27
reply_delay:
  description: Seconds between the probe and the answer by their Webex timestamps; null when Webex gave none.
  returned: success
  type: float
  sample: 0.184
reply_text:
  description: Text of the bot's answer.
  returned: success
  type: str
  sample: "barnacles status: python=3.11.2 webex_bot=1.3.1 websockets=16.1 ..."
reply_message_id:
  description: Webex id of the bot's answer.
  returned: success
  type: str
sent_message_id:
  description: Webex id of the probe message; null when it was not sent.
  returned: when the probe ran
  type: str
room_id:
  description: Id of the room the probe went to (for a direct message, the direct room of the two).
  returned: when the probe ran
  type: str
attempts:
  description: How many times the room's messages were read.
  returned: when the probe ran
  type: int
  sample: 3
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.botfleet.deploy.plugins.module_utils.probe import Probe
from ansible_collections.botfleet.deploy.plugins.module_utils.specs import webex_probe_spec
from ansible_collections.botfleet.deploy.plugins.module_utils.webex_client import TARGETS, WebexError, token_scrubber


def main():
    module = AnsibleModule(
        argument_spec=webex_probe_spec(),
        mutually_exclusive=[TARGETS],
        required_one_of=[TARGETS],
        supports_check_mode=True,
    )
    # no_log masks the whole token only; the scrubber also masks any part of it an answer quoted.
    scrub = token_scrubber(module.params)
    try:
        probe = Probe(module.params)
    except WebexError as exc:
        module.fail_json(msg=scrub(str(exc)))
    if module.check_mode:
        module.exit_json(changed=False, skipped=True, msg=scrub(f"check mode: the probe would {probe.describe()}"))
    try:
        report = probe.run()
    except WebexError as exc:
        module.fail_json(**scrub(dict(probe.report, msg=str(exc))))
    module.exit_json(**scrub(dict(report, changed=False, msg=f"bot {probe.bot} answered in {report['latency']:g}s")))


if __name__ == "__main__":
    main()
