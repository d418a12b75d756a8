#!/usr/bin/python
# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: venv_pins
short_description: Make a Python virtualenv satisfy version pins
version_added: 0.1.0
description:
  - Creates the virtualenv when it is missing. When a pin is not satisfied, it runs C(uv) or C(pip) with every pin and
    requirement line, so that the resolver sees the whole set; the installer then upgrades or downgrades what does
    not satisfy its pin and leaves the rest alone.
  - When every pin is already satisfied it runs no installer and contacts no package index.
  - Pins are validated on the controller with the C(packaging) library before anything runs on the target.
  - After installing, it checks that every pin is satisfied and that the venv has no declared-requirement
    conflict, except on the packages listed in O(allow_conflicts).
  - For an immutable, built-aside venv that is only switched in when it passed every check, use
    M(botfleet.deploy.release); this module changes a venv in place.
author: botfleet maintainers (@botfleet)
extends_documentation_fragment:
  - botfleet.deploy.pins
  - botfleet.deploy.installer
options:
  path:
    description:
      - Path of the virtualenv.
    type: path
    required: true
    version_added: 0.1.0
  pins:
    description:
      - The desired pins, a mapping of package name to a version (C(14.2), meaning C(==14.2)) or a
        PEP 440 specifier set (C(>=14,<15)).
    type: dict
    required: true
    version_added: 0.1.0
  python:
    description:
      - Interpreter (name on E(PATH) or path) used to create the virtualenv when it is missing.
    type: str
    default: python3
    version_added: 0.1.0
  create:
    description:
      - Create the virtualenv when O(path) does not exist. With V(false), a missing venv fails.
    type: bool
    default: true
    version_added: 0.1.0
attributes:
  check_mode:
    support: full
    description: Reports the plan (which package goes from which version to which) without running an installer.
  diff_mode:
    support: full
    description: Shows the pinned packages' versions before and after.
  action:
    support: full
    description: Planning and verification run in an action plugin on the controller.
notes:
  - State after a failure. Invalid pins fail on the controller and nothing runs. When the installer fails to
    resolve (unknown package or version, conflicting pins), it has installed nothing, and a venv that this task
    created is removed again. When the installation succeeded but the result violates a pin or has a refused
    conflict, the venv keeps the installed packages and the task fails naming the problem; pin the previous
    versions to go back, or use M(botfleet.deploy.release), which never changes a live venv.
  - Pins of packages in O(allow_conflicts) are resolved with a dry run before the first installation, so a
    bad forced pin also fails before anything changes.
seealso:
  - module: botfleet.deploy.bot_facts
  - module: botfleet.deploy.release
"""

EXAMPLES = r"""
- name: Pin webex_bot and websockets in the bot's own venv
  botfleet.deploy.venv_pins:
    path: /opt/bots/barnacles/venv
    pins:
      webex_bot: "1.3.1"
      websockets: "16.1"

- name: Force websockets 14.2 under webex_bot 1.0.8 on purpose (the story's canary)
  botfleet.deploy.venv_pins:
    path: /opt/bots/barnacles/venv
    pins:
      webex_bot: "1.0.8"
      websockets: "14.2"
    allow_conflicts: [websockets]

- name: Install from a wheelhouse pushed to the host, without any index
  botfleet.deploy.venv_pins:
    path: /opt/bots/barnacles/venv
    pins: "{{ botfleet_pins }}"
    find_links: [/var/cache/botfleet/wheels]
    offline: true
"""

RETURN = r"""
plan:
  description: The changes needed (in check mode) or made.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Normalized package name.
      type: str
    before:
      description: Installed version before, null when missing.
      type: str
    after:
      description: Pinned version, or the specifier when the pin is a range.
      type: str
    action:
      description: One of V(install), V(upgrade), V(downgrade).
      type: str
  sample:
    - {name: websockets, before: "11.0.3", after: "14.2", action: upgrade}
created:
  description: Whether the virtualenv was created.
  returned: always
  type: bool
installer:
  description: The installer that ran, V(uv) or V(pip); null when nothing needed installing.
  returned: always
  type: str
commands:
  description: Installer command lines that ran (credentials in URLs masked).
  returned: when an installer ran
  type: list
  elements: str
versions:
  description: Installed versions of the pinned packages after the task.
  returned: always
  type: dict
  sample: {webex-bot: "1.0.8", websockets: "14.2"}
conflicts:
  description: Declared-requirement conflicts accepted through O(allow_conflicts).
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.botfleet.deploy.plugins.module_utils.installer import apply_pins
from ansible_collections.botfleet.deploy.plugins.module_utils.specs import venv_pins_spec


def main():
    module = AnsibleModule(argument_spec=venv_pins_spec(), supports_check_mode=True)
    module.exit_json(**apply_pins(module, module.params))


if __name__ == "__main__":
    main()
