#!/usr/bin/python
# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: webex_notify
short_description: Post a deployment event to a Webex room or person
version_added: 0.1.0
description:
  - Posts a markdown message to a Webex room (O(room_id)) or as a direct message (O(to_person_email),
    O(to_person_id)) and returns its id, for example "canary barnacles passed on release 3f9c2a".
  - Transient answers of Webex (HTTP 429, 5xx) are retried as O(max_retries) and C(Retry-After) say; a refused
    token, an unknown room or an unreachable API fail with a message that says which.
author: botfleet maintainers (@botfleet)
extends_documentation_fragment:
  - botfleet.deploy.webex
options:
  room_id:
    description:
      - Id of the room to post to; the identity of O(token) must be a member.
      - Exactly one of O(room_id), O(to_person_email) and O(to_person_id) is required.
    type: str
    version_added: 0.1.0
  to_person_email:
    description:
      - Email address of the person to send a direct message to.
    type: str
    version_added: 0.1.0
  to_person_id:
    description:
      - Webex person id of the person to send a direct message to.
    type: str
    version_added: 0.1.0
  markdown:
    description:
      - The message, in Webex markdown (at most 7439 bytes).
    type: str
    required: true
    version_added: 0.1.0
attributes:
  check_mode:
    support: full
    description: Posts nothing; reports C(changed), since a run would post.
  diff_mode:
    support: none
    description: A posted message has no before and after.
notes:
  - Every run posts a message and reports C(changed); the module has no notion of a message already sent.
seealso:
  - module: botfleet.deploy.webex_probe
"""

EXAMPLES = r"""
- name: Tell the team that the canary passed
  botfleet.deploy.webex_notify:
    token: "{{ botfleet_notify_token }}"
    room_id: "{{ botfleet_notify_room }}"
    markdown: "Canary **barnacles** passed on release `3f9c2a` (webex_bot 1.3.1, websockets 16.1)."
  delegate_to: localhost
  register: __botfleet_notification
"""

RETURN = r"""
message_id:
  description: Webex id of the posted message; null in check mode.
  returned: always
  type: str
room_id:
  description: Id of the room the message went to (for a direct message, the direct room); null in check mode.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.botfleet.deploy.plugins.module_utils.notify import describe_target, post_notification
from ansible_collections.botfleet.deploy.plugins.module_utils.specs import webex_notify_spec
from ansible_collections.botfleet.deploy.plugins.module_utils.webex_client import (
    TARGETS,
    WebexError,
    client_from_params,
    token_scrubber,
)


def main():
    module = AnsibleModule(
        argument_spec=webex_notify_spec(),
        mutually_exclusive=[TARGETS],
        required_one_of=[TARGETS],
        supports_check_mode=True,
    )
    # no_log masks the whole token only; the scrubber also masks any part of it an answer quoted.
    scrub = token_scrubber(module.params)
    try:
        client = client_from_params(module.params, "the notify token")
        if module.check_mode:
            where = describe_target(module.params)
            module.exit_json(changed=True, message_id=None, room_id=None, msg=scrub(f"would post to {where}"))
        result = post_notification(client, module.params)
    except WebexError as exc:
        module.fail_json(msg=scrub(str(exc)))
    module.exit_json(changed=True, **scrub(result))


if __name__ == "__main__":
    main()
