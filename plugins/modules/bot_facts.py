#!/usr/bin/python
# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: bot_facts
short_description: Inspect a deployed bot, its virtualenv's packages and whether its processes run older code
version_added: 0.2.0
description:
  - Reads what a deployed bot is made of and whether what runs is what is installed.
  - Lists the distributions installed in the bot's virtualenv, with one run of the venv's own interpreter
    (no C(pip show) per package).
  - Evaluates pins (exact versions or PEP 440 specifiers) against what is installed.
  - Reports declared-requirement conflicts among the installed distributions, the way C(pip check) does,
    in words (C(webex-bot 1.0.8 requires websockets==11.0.3, installed 14.2)).
  - For the bot's systemd units, tells whether the running main process started before a package of the
    venv was installed, before the venv's path was switched to another release, or before a file the unit
    reads changed (a restart is pending); describes those files (mode, owner, checksum but for secrets).
  - Version and marker logic runs on the controller with the C(packaging) library; the target needs only
    C(python3).
  - Never changes anything.
  - This module was C(botfleet.deploy.venv_facts) in 0.1.0, a name that said less than it reads; the old
    name still works, with a deprecation warning, until 0.3.0.
author: botfleet maintainers (@botfleet)
options:
  path:
    description:
      - Path of the virtualenv, for example C(/opt/botfleet/barnacles/current/venv).
      - A path that does not exist gives O(ignore:exists=false); a path that exists but is not a virtualenv fails.
    type: path
    required: true
  packages:
    description:
      - Names of the packages to return in RV(packages). Empty returns every installed distribution.
      - Conflicts are always computed over every installed distribution.
    type: list
    elements: str
    default: []
  pins:
    description:
      - Pins to evaluate, a mapping of package name to a version (C(14.2), meaning C(==14.2)) or a
        PEP 440 specifier set (C(>=14,<15)).
    type: dict
    default: {}
  units:
    description:
      - Names of systemd units whose main process runs from this virtualenv.
    type: list
    elements: str
    default: []
  files:
    description:
      - Files the units read at start (environment file, unit file); one changed after a unit's process started
        counts as a pending restart too (RV(units[].newer_files)).
      - Each path, also a directory, is described in RV(files) (mode, owner, checksum).
    type: list
    elements: path
    default: []
  secret_files:
    description:
      - Files whose content is secret (the bot's environment file with its token), a mapping of path to the SHA-1
        its content should have, or null to compare nothing.
      - Each is described in RV(files) and counts for a pending restart like a path of O(files), but without its
        checksum, which would let anyone who reads the task's output confirm a guessed secret; RV(files.as_expected)
        says whether the content has the given SHA-1 instead.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: The module never changes anything.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
  action:
    support: full
    description: Version and conflict evaluation run in an action plugin on the controller.
notes:
  - A package counts as installed at the modification time of its C(.dist-info) directory.
  - The time a symlink in O(path) (such as C(current)) was last replaced counts as a change of every package.
seealso:
  - module: botfleet.deploy.venv_pins
"""

EXAMPLES = r"""
- name: Read the versions of the packages that matter
  botfleet.deploy.bot_facts:
    path: /opt/botfleet/barnacles/current/venv
    packages: [webex_bot, websockets]
    pins:
      webex_bot: "1.3.1"
      websockets: ">=16,<17"
    units: [botfleet-barnacles.service]
  register: __botfleet_venv

- name: Refuse to go on while the bot runs older code than installed
  ansible.builtin.assert:
    that: not __botfleet_venv.restart_pending
    fail_msg: >-
      restart pending:
      {{ __botfleet_venv.units | dict2items | map(attribute='value.newer_packages') | flatten | join(', ') }}
"""

RETURN = r"""
exists:
  description: Whether O(path) exists.
  returned: always
  type: bool
real_path:
  description: O(path) with symlinks resolved (the release directory behind C(current)).
  returned: when the venv exists
  type: str
python:
  description: The venv's interpreter.
  returned: when the venv exists
  type: dict
  contains:
    version:
      description: Python version.
      type: str
      sample: 3.11.2
    implementation:
      description: Implementation name.
      type: str
      sample: cpython
    executable:
      description: Path of the interpreter.
      type: str
packages:
  description: Installed distributions (all, or those named in O(packages)), keyed by normalized name.
  returned: always
  type: dict
  sample:
    websockets: {name: websockets, version: "14.2", installed_at: "2026-11-27T08:00:00Z"}
missing:
  description: Names in O(packages) that are not installed.
  returned: always
  type: list
  elements: str
pins:
  description: Per pin, the wanted specifier, the installed version and whether it satisfies the pin.
  returned: always
  type: dict
  sample:
    websockets: {name: websockets, wanted: "==14.2", installed: "11.0.3", satisfied: false}
satisfied:
  description: Whether every pin is satisfied (true when there are no pins).
  returned: always
  type: bool
conflicts:
  description: Declared-requirement conflicts among the installed distributions.
  returned: always
  type: list
  elements: dict
  contains:
    package:
      description: The distribution that declares the requirement.
      type: str
    version:
      description: Its version.
      type: str
    requirement:
      description: The declared requirement.
      type: str
    dependency:
      description: Normalized name of the required distribution.
      type: str
    installed:
      description: Installed version of the dependency, null when missing.
      type: str
    message:
      description: The conflict in words.
      type: str
      sample: webex-bot 1.0.8 requires websockets==11.0.3, installed 14.2
units:
  description: Per unit in O(units), its main process and whether it runs code older than installed.
  returned: always
  type: dict
  contains:
    active_state:
      description: systemd ActiveState.
      type: str
    unit_file_state:
      description: systemd UnitFileState, for example C(enabled) or C(disabled).
      type: str
      version_added: 0.1.0
    main_pid:
      description: Main PID, null when not running.
      type: int
    started_at:
      description: Start time of the main process (UTC, ISO 8601).
      type: str
    uptime:
      description: Seconds since the main process started.
      type: float
    restarts:
      description: systemd NRestarts.
      type: int
    restart_pending:
      description: >-
        Whether the process started before a package was installed, a link in O(path) was switched, or a file in
        O(files) changed.
      type: bool
    newer_packages:
      description: Packages installed after the process started.
      type: list
      elements: str
    switched_links:
      description: Symlinks in O(path) replaced after the process started.
      type: list
      elements: str
    newer_files:
      description: Files in O(files) changed after the process started.
      type: list
      elements: str
restart_pending:
  description: Whether any unit in O(units) has a restart pending.
  returned: always
  type: bool
files:
  description:
    - Per path in O(files), what a deployment compares to decide whether it is as rendered.
    - A missing path gives only RV(files.exists=false).
  returned: always
  type: dict
  version_added: 0.1.0
  contains:
    exists:
      description: Whether the path exists.
      type: bool
    type:
      description: C(file), C(directory) or C(other).
      type: str
    mode:
      description: Permission bits, four octal digits.
      type: str
      sample: "0600"
    owner:
      description: Owner's user name.
      type: str
    group:
      description: Group name.
      type: str
    checksum:
      description:
        - SHA-1 of a regular file's content (as M(ansible.builtin.stat) reports it), null otherwise.
        - Never returned for a path of O(secret_files).
      type: str
    as_expected:
      description: For a path of O(secret_files) with a SHA-1, whether the file's content has it.
      type: bool
      version_added: 0.2.0
    mtime:
      description: Modification time, seconds since the epoch (what RV(units.newer_files) compares).
      type: float
  sample:
    /etc/botfleet/barnacles.env: {exists: true, type: file, mode: "0600", owner: root, group: root, checksum: 0c1e...}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.botfleet.deploy.plugins.module_utils.specs import bot_facts_spec
from ansible_collections.botfleet.deploy.plugins.module_utils.validate import absolute_path_problem, control_problem
from ansible_collections.botfleet.deploy.plugins.module_utils.venv import VenvError, gather


def main():
    module = AnsibleModule(argument_spec=bot_facts_spec(), supports_check_mode=True)
    params = module.params
    secret_files = params["secret_files"] or {}
    problem = control_problem(params["path"], "path") or next(
        filter(None, (absolute_path_problem(path, "files") for path in [*params["files"], *secret_files])), None
    )
    if problem is not None:
        module.fail_json(msg=problem)
    try:
        facts = gather(module.run_command, params["path"], params["units"], files=[*params["files"], *secret_files])
    except VenvError as exc:
        module.fail_json(msg=str(exc))
    for path, expected in secret_files.items():
        entry = facts["files"][path]
        checksum = entry.pop("checksum", None)
        if expected is not None and entry.get("exists"):
            entry["as_expected"] = checksum is not None and checksum == str(expected).lower()
    module.exit_json(changed=False, **facts)


if __name__ == "__main__":
    main()
