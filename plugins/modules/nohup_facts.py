#!/usr/bin/python
# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: nohup_facts
short_description: Describe the one process a team started by hand for a bot
version_added: 0.2.0
description:
  - Finds the one running process whose command line contains O(match), as C(ps -eo args | grep) would, and
    reads what it really runs from C(/proc) and from disk, the first step of adopting a bot started with
    C(nohup .venv/bin/python webex_bots/<bot>.py &).
  - Reads the command line, working directory, user, the file its output goes to, the interpreter's virtualenv
    and the distributions installed in it (from their metadata, without running anything in the venv), the
    commit of the git checkout it runs from and the checkout's local changes (from C(.git), git is not needed).
  - Fails, listing what it saw, when no process or several match.
  - Returns the names of the process's environment variables and the values of O(environment) only; the values
    of O(secrets) are never returned.
  - Read-only.
author: botfleet maintainers (@botfleet)
options:
  match:
    description:
      - A part of the bot's command line that only its process has, for example C(webex_bots/barnacles.py).
    type: str
    required: true
    version_added: 0.2.0
  environment:
    description:
      - Names of non-secret environment variables whose values are returned (they go into the release).
    type: list
    elements: str
    default: []
    version_added: 0.2.0
  secrets:
    description:
      - Names of environment variables the bot needs whose values are secret; one the process lacks is a problem.
    type: list
    elements: str
    default: []
    version_added: 0.2.0
attributes:
  check_mode:
    description: The module only reads; in check mode it reads as usual.
    support: full
  diff_mode:
    description: Nothing changes, so there is nothing to show.
    support: none
"""

EXAMPLES = r"""
- name: Describe the hand-started barnacles
  botfleet.deploy.nohup_facts:
    match: webex_bots/barnacles.py
    environment: [BOTFLEET_BOT_NAME]
    secrets: [WEBEX_BOT_TOKEN]
  register: found
"""

RETURN = r"""
pid:
  description: The process id.
  returned: success
  type: int
argv:
  description: The command line.
  returned: success
  type: list
  elements: str
cwd:
  description: The working directory.
  returned: success
  type: str
user:
  description: The user the process runs as.
  returned: success
  type: str
log:
  description: The file the process's output goes to.
  returned: success
  type: str
venv:
  description: The virtualenv of its interpreter, null when it is none.
  returned: success
  type: str
python:
  description: The Python version of that virtualenv.
  returned: success
  type: str
distributions:
  description: Name and version of each distribution installed in the virtualenv (pip, setuptools and wheel left out).
  returned: success
  type: dict
script:
  description: The script the interpreter runs, as given on its command line.
  returned: success
  type: str
checkout:
  description: The top of the git checkout the process runs in.
  returned: success
  type: str
commit:
  description: The checkout's HEAD commit.
  returned: success
  type: str
local_changes:
  description: Tracked files of the checkout that differ from its index (C(M path), C(D path)).
  returned: success
  type: list
  elements: str
environment_keys:
  description: Names of the process's environment variables.
  returned: success
  type: list
  elements: str
environment:
  description: Values of the O(environment) variables the process has.
  returned: success
  type: dict
problems:
  description: Why the process cannot be adopted as it is; empty when it can.
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.botfleet.deploy.plugins.module_utils.adopt import (
    AdoptError,
    command_lines,
    inspect,
    own_lineage,
    the_one,
)
from ansible_collections.botfleet.deploy.plugins.module_utils.specs import nohup_facts_spec


def main():
    module = AnsibleModule(argument_spec=nohup_facts_spec(), supports_check_mode=True)
    params = module.params
    try:
        pid, _argv = the_one(command_lines(exclude=own_lineage()), params["match"])
        found = inspect(pid, plain_keys=params["environment"], secret_keys=params["secrets"])
    except AdoptError as exc:
        module.fail_json(msg=str(exc))
    for warning in found.pop("warnings"):
        module.warn(warning)
    module.exit_json(changed=False, **found)


if __name__ == "__main__":
    main()
