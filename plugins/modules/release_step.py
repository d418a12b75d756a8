#!/usr/bin/python
# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: release_step
short_description: Internal step of botfleet.deploy.release, run by its action plugin
version_added: 0.2.0
description:
  - Do not call this module from a playbook; use M(botfleet.deploy.release). Its action plugin runs this module for
    each phase of a build, and a task that names this module directly fails without running anything.
  - The phases are the controller/target protocol of a build (docs/architecture.md, "What crosses to the VM and
    back"). V(inspect) reports the release interpreter's version and platform, for the controller to resolve the
    lock for. V(stage) builds the release from O(lock) in a staging directory and returns what it installed.
    V(commit) moves the staging directory O(staged) into place as release O(release_id), once the controller checked
    it. V(discard) removes it, when the controller refused it.
  - The other options are those of M(botfleet.deploy.release) a build needs, passed on by its action as the task
    gave them.
author: botfleet maintainers (@botfleet)
extends_documentation_fragment:
  - botfleet.deploy.pins
  - botfleet.deploy.installer
  - botfleet.deploy.bot_state
options:
  phase:
    description:
      - The phase of the build to run.
    type: str
    required: true
    choices: [inspect, stage, commit, discard]
  lock:
    description:
      - The lock the action resolved on the controller, in the requirements format with C(--hash) options.
      - Required by V(stage) and V(commit).
    type: str
  staged:
    description:
      - The staging directory V(stage) returned, for V(commit) and V(discard).
    type: path
  accepted:
    description:
      - The declared-requirement conflicts the controller accepted through
        O(botfleet.deploy.release#module:allow_conflicts), recorded by V(commit) in C(release.json).
    type: list
    elements: dict
    default: []
  release_id:
    description:
      - The release V(commit) moves into place, as V(stage) computed it.
    type: str
  root:
    description:
      - As O(botfleet.deploy.release#module:root).
    type: path
    default: /opt/botfleet
  pins:
    description:
      - As O(botfleet.deploy.release#module:pins), normalized by the action.
    type: dict
    default: {}
  python:
    description:
      - As O(botfleet.deploy.release#module:python).
    type: str
    default: python3
  smoke_imports:
    description:
      - As O(botfleet.deploy.release#module:smoke_imports).
    type: list
    elements: str
    default: []
  config:
    description:
      - As O(botfleet.deploy.release#module:config).
    type: dict
    default: {}
  redact:
    description:
      - As O(botfleet.deploy.release#module:redact), with the host's secrets the action adds.
    type: list
    elements: str
    default: []
  allow_sdists:
    description:
      - As O(botfleet.deploy.release#module:allow_sdists).
    type: list
    elements: str
    default: []
  state_group:
    description:
      - As O(botfleet.deploy.release#module:state_group).
    type: str
    default: botfleet
  build_user:
    description:
      - As O(botfleet.deploy.release#module:build_user).
    type: str
    default: botfleet-build
  source:
    description:
      - As O(botfleet.deploy.release#module:source).
    type: dict
  lock_timeout:
    description:
      - As O(botfleet.deploy.release#module:lock_timeout).
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    description: V(stage) reports the release id and whether it would be built, and builds nothing.
  diff_mode:
    support: none
    description: The action of M(botfleet.deploy.release) computes the diff of a build from what V(stage) returns.
  action:
    support: full
    description: >-
      The action plugin of this module refuses a task that names it; the one of M(botfleet.deploy.release) runs it.
notes:
  - Its options are no options of M(botfleet.deploy.release), so that the protocol stays out of that module's
    documentation.
seealso:
  - module: botfleet.deploy.release
"""

EXAMPLES = r"""
# None: botfleet.deploy.release runs this module; a task that names it fails.
- name: Build the release of the new pins for barnacles
  botfleet.deploy.release:
    bot: barnacles
    state: built
    pins:
      webex_bot: "1.3.1"
"""

RETURN = r"""
interpreter:
  description: The release interpreter's executable, implementation, version and platform.
  returned: with O(phase=inspect)
  type: dict
release_id:
  description: The release of the lock, interpreter, configuration and code.
  returned: with O(phase=stage) and O(phase=commit)
  type: str
  sample: 3f9c2a61b0d4
exists:
  description: Whether the release was already built, whole, before the build.
  returned: with O(phase=stage)
  type: bool
staged:
  description: The staging directory of a build that ran, for O(phase=commit) or O(phase=discard).
  returned: with O(phase=stage), when a build ran
  type: str
facts:
  description: What the staged venv holds (its distributions and marker environment), read as the build user.
  returned: with O(phase=stage), when a build ran
  type: dict
venv_id:
  description: The content address of the release's venv.
  returned: with O(phase=stage)
  type: str
canary_id:
  description: What a canary of the release proves for the rest of the fleet.
  returned: with O(phase=stage)
  type: str
current_versions:
  description: >-
    The versions of the current release's lock, for the diff and RV(botfleet.deploy.release#module:lock_changes).
  returned: with O(phase=stage)
  type: dict
current_source:
  description: The code the current release recorded, for RV(botfleet.deploy.release#module:commit_range).
  returned: with O(phase=stage)
  type: dict
built:
  description: Whether O(phase=commit) moved the release into place.
  returned: with O(phase=commit)
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.botfleet.deploy.plugins.module_utils.release_manager import ReleaseManager
from ansible_collections.botfleet.deploy.plugins.module_utils.specs import release_step_spec


def main():
    module = AnsibleModule(argument_spec=release_step_spec(), supports_check_mode=True)
    module.exit_json(**ReleaseManager(module).run_step())


if __name__ == "__main__":
    main()
