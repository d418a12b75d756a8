#!/usr/bin/python
# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: release
short_description: Build, activate, roll back and prune immutable per-bot releases
version_added: 0.1.0
description:
  - Manages the releases of one bot on one host, with the layout
    C(<root>/<bot>/releases/<id>/venv), C(<root>/<bot>/current -> releases/<id>) and the history in
    C(<state_dir>/<bot>/state.json).
  - A release is the whole deployable unit of a bot, secrets aside, its venv and its configuration files
    (O(config), the systemd unit and the non-secret environment). Switching C(current) switches both, and the
    release's unit file is installed into O(unit_dir) in the same locked step.
  - A release is built from a lock. On the controller, the pins and O(requirements) are resolved with C(uv pip compile
    --generate-hashes) for the version and platform of the target's interpreter into every distribution with its
    exact version and the sha256 of each allowed file; the pins of packages in O(allow_conflicts) are resolver
    overrides. The lock is kept in the release as C(lock.txt) and returned as RV(lock).
  - A release id is a content address, a short hash of the lock, the interpreter's version and the configuration
    files, so the same id means the same bits on every host, and the same pins resolved otherwise (an unpinned
    dependency with a new version) are another release.
  - The target installs exactly the lock, with hash checking required and without resolving again, from wheels only
    except for the packages in O(allow_sdists). A file that differs from the lock (a wheel swapped under the same
    name) fails the build, which leaves nothing behind.
  - With O(source), the bot's own code is part of the release as C(app/), from a commit of a git repository or a
    directory on the controller; a rollback brings the old code back with the old venv.
  - A release is whole only when its C(.complete) marker, written last by the build, its interpreter and its
    configuration files (unchanged since the build) are there. A damaged release is built again by O(state=built)
    and refused by O(state=active) and O(state=rolled_back), with what is missing.
  - O(state=built) builds a missing release aside, in a staging directory, with C(uv) or C(pip); checks that every
    pin is satisfied, that every distribution of the lock is installed at its locked version and that no
    declared-requirement conflict exists except on packages in O(allow_conflicts) (with the C(packaging) library, on
    the controller); imports O(smoke_imports) with the release's interpreter; and
    only then renames it into place. A failed build removes its staging directory and never touches C(current).
  - O(state=active) points C(current) at a built release by renaming a new symlink over it, installs its unit
    file, and records the release it replaced as the previous one. If that record cannot be written, the link and
    the unit file are put back. A state file that disagrees with C(current) (a run that died mid-switch) is
    repaired from the link first, with a warning.
  - O(state=rolled_back) points C(current) at the previous release, or at O(release_id). It needs no package index.
    A bot already rolled back is left alone unless O(release_id) names where to go, since its previous release is
    the one it was rolled back from.
  - O(state=pruned) keeps the O(keep) newest releases, and always the current and the previous one. It also removes
    the host's copies of source trees (C(<root>/.sources/<id>.tar)) that no release of any bot under O(root) holds,
    and, on the controller, exported trees and repository mirrors no run used for O(source_cache_days) days.
  - O(state=recorded) is deprecated and will be removed in 0.3.0; record verdicts with M(botfleet.deploy.journal),
    which takes the same O(record). It still appends O(record) to the state file, and warns.
  - Operations on one bot are serialized by a lock file in its state directory.
author: botfleet maintainers (@botfleet)
extends_documentation_fragment:
  - botfleet.deploy.pins
  - botfleet.deploy.installer
  - botfleet.deploy.bot_state
options:
  state:
    description:
      - What to do; see the description.
    type: str
    default: built
    choices: [built, active, rolled_back, pruned, recorded]
    version_added: 0.1.0
  root:
    description:
      - Directory holding one directory per bot.
    type: path
    default: /opt/botfleet
    version_added: 0.1.0
  pins:
    description:
      - Pins of the release, a mapping of package name to a version (C(16.1)) or a PEP 440 specifier set.
      - Required with O(state=built); with O(state=active) they name the release unless O(release_id) is given.
    type: dict
    default: {}
    version_added: 0.1.0
  python:
    description:
      - Interpreter (name on E(PATH) or path) of the release. Its version is part of the release id.
    type: str
    default: python3
    version_added: 0.1.0
  release_id:
    description:
      - The release to activate or roll back to. Without it, O(state=active) uses the id of O(pins) and
        O(state=rolled_back) uses the previous release recorded in the state file.
    type: str
    version_added: 0.1.0
  smoke_imports:
    description:
      - Python modules the release's interpreter must import before the release is accepted, usually the bot's own
        package.
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  keep:
    description:
      - With O(state=pruned), how many of the newest releases to keep (the current and the previous one are always
        kept).
    type: int
    default: 5
    version_added: 0.1.0
  record:
    description:
      - With O(state=recorded) (deprecated), the verdict to record; see M(botfleet.deploy.journal).
      - C(event) is one of C(canary), C(rollout), C(rollback), C(gate), C(soak), C(provision); C(verdict) is
        C(passed) or C(failed); C(release_id) defaults to the current release; C(venv_id) is that release's venv id
        (a canary mark with it covers every bot whose release has the same venv); C(reason) says what failed;
        C(latency) is the probe's.
      - C(probed) (gate) says whether a message was sent; a gate without one leaves the bot's last probe as it was.
        C(switched) (canary) false keeps the passed mark of the release the bot still runs. C(rows) (soak) is the
        comparison table of the canary and its baseline.
    type: dict
    version_added: 0.1.0
  config:
    description:
      - The bot's configuration files kept in the release, a mapping of file name to text, usually its systemd unit
        (the one name ending in C(.service)) and its non-secret environment file. They are part of the release id.
      - The unit is verified with C(systemd-analyze verify) during the build, with C(current) read as the release
        being built.
      - Secrets do not belong here, since they rotate on their own and a rollback must never bring an old one back.
    type: dict
    default: {}
    version_added: 0.2.0
  unit_dir:
    description:
      - Where the release's unit file is installed when the release becomes current.
    type: path
    default: /etc/systemd/system
    version_added: 0.2.0
  redact:
    description:
      - Secrets (the bot's token, the probe's and the notifier's) to mask, with every prefix of them of 8 characters or
        more, in every message and result and in what is written to C(state.json) and C(release.json), so that a
        failure quoted into a verdict's C(reason) never records part of one.
      - Strings shorter than 8 characters are not masked, since they would be masked inside release ids and times too.
      - The action always adds the values of the host's C(botfleet_secrets) and the C(token) of its C(botfleet_probe)
        and C(botfleet_notify), so a verdict recorded by a task that does not pass O(redact) is scrubbed too.
    type: list
    elements: str
    default: []
    version_added: 0.2.0
  allow_sdists:
    description:
      - Names of packages that may be installed from a source distribution, which runs its build backend.
      - Every other package installs from a wheel only, on the target and when the lock is resolved. A package in this
        list may make the controller build its metadata while it resolves the lock.
      - They are part of the release id, since a build from source is not the locked file bit for bit.
    type: list
    elements: str
    default: []
    version_added: 0.2.0
  state_group:
    description:
      - Group of C(state.json), which is written with mode C(0640), owned by the user that runs the module (root).
      - When the host has no such group, the file keeps the group of that user.
    type: str
    default: botfleet
    version_added: 0.2.0
  build_user:
    description:
      - When the module runs as root, the venv is built and O(smoke_imports) imported as this unprivileged user,
        through C(setpriv) without supplementary groups or capabilities, in a staging directory it owns; the
        finished release is then made root-owned, with nothing writable by group or others and no setuid bit,
        before any of its code runs again and before it becomes a release.
      - The C(botfleet.deploy.bot_host) role creates it. The user must be able to read the interpreter and
        O(find_links), and should not be able to read the bots' secrets.
      - An empty string builds as the module's own user, so package code runs as root.
    type: str
    default: botfleet-build
    version_added: 0.2.0
  controller_find_links:
    description:
      - Directories on the controller (or URLs) the lock is resolved from, usually the wheelhouse whose copy on the
        target O(find_links) names. Without it, O(find_links) is read on the controller.
      - With O(offline=true) the lock is resolved from these alone; otherwise also from O(index_url) and
        O(extra_index_urls).
    type: list
    elements: str
    default: []
    version_added: 0.2.0
  source:
    description:
      - The bot's own code, as the P(botfleet.deploy.source#lookup) lookup returns it, with C(archive) set to the path
        of the exported tree on this host. It is unpacked into the release as C(app/) (the archive's C(sha256) is
        checked first) and its C(id), the commit or the tree's digest, is part of the release id.
      - C(requirements) (the lines of the source's requirements file) join O(requirements) in the lock, except those
        of packages in O(pins), which keep their pin.
      - C(kind), C(id), C(commit), C(short) and C(subject) are recorded in C(release.json) as C(source), and the commit
        in the history of C(state.json).
      - A release whose lock and interpreter are those of a release already built (only its code or its configuration
        differ) gets a copy of that release's venv (hard links, its scripts rewritten) instead of an install.
      - With C(install) true and C(project) (the lookup's C(install=true)), the code is a Python project that is built
        and installed into the venv after the lock, without its dependencies (they are in the lock), from the same
        package sources (offline, the wheelhouse, which must hold its build backend). The venv id then covers the code,
        so no other commit's venv is reused, and C(release.json) records the project's name as C(source.installed).
    type: dict
    version_added: 0.2.0
  source_cache_days:
    description:
      - With O(state=pruned), exported source trees and repository mirrors in the controller's cache
        (C(~/.cache/botfleet/sources), or E(BOTFLEET_SOURCE_CACHE)) that no run used for this many days are removed.
        C(0) keeps them all.
    type: int
    default: 30
    version_added: 0.2.0
  restart:
    description:
      - With O(state=active) or O(state=rolled_back), restart the release's unit (after C(systemctl daemon-reload))
        in the same call when the switch changed something, clearing a start limit a crash-looping release used up.
        A rollback's path to the bot's first answer is then one task shorter.
      - A restart that fails fails the task; the bot stays switched, and the message says where to look.
    type: bool
    default: false
    version_added: 0.2.0
  lock_timeout:
    description:
      - Seconds to wait for another run holding the bot's lock.
    type: int
    default: 300
    version_added: 0.1.0
attributes:
  check_mode:
    support: full
    description: Reports the release id and whether it would be built, switched or removed.
  diff_mode:
    support: full
    description: >-
      Shows the target of C(current) before and after a switch, and with O(state=built) the versions of the current
      release's lock against the new one's (transitive dependencies included).
  action:
    support: full
    description: >-
      Validation, the lock's resolution and the checks of a staged release run in an action plugin on the
      controller, which runs each phase of a build on the target as the internal module
      M(botfleet.deploy.release_step).
requirements:
  - uv on the controller (next to the Python that runs Ansible, or on E(PATH)), to resolve the lock.
notes:
  - The lock is resolved from the package sources before anything runs on the target, also for a release that is
    built already; a rollback (O(state=rolled_back)) and a switch to a named O(release_id) need no package source.
  - Installing and importing run package code; with O(build_user) none of it runs as root. Reading the staged
    venv's facts runs its interpreter as the build user too.
  - A venv built in the staging directory is moved into place; the absolute paths in its C(bin/) scripts and
    C(pyvenv.cfg) are rewritten to the final path before the move.
seealso:
  - module: botfleet.deploy.venv_pins
  - module: botfleet.deploy.journal
  - module: botfleet.deploy.bot_facts
"""

EXAMPLES = r"""
- name: Build the release of the new pins for barnacles from a wheelhouse
  botfleet.deploy.release:
    bot: barnacles
    state: built
    pins:
      webex_bot: "1.3.1"
      websockets: "16.1"
    requirements: [botfleet-demo-bot==0.1.0]
    smoke_imports: [botfleet_demo_bot]
    find_links: [/var/cache/botfleet/wheelhouse]
    controller_find_links: ["{{ playbook_dir }}/../.cache/wheelhouse"]
    offline: true
  register: built

- name: Switch barnacles to it
  botfleet.deploy.release:
    bot: barnacles
    state: active
    release_id: "{{ built.release_id }}"

- name: Roll barnacles back to the release it ran before
  botfleet.deploy.release:
    bot: barnacles
    state: rolled_back

- name: Keep the three newest releases
  botfleet.deploy.release:
    bot: barnacles
    state: pruned
    keep: 3
"""

RETURN = r"""
release_id:
  description: The release built, activated or rolled back to.
  returned: except with O(state=pruned)
  type: str
  sample: 3f9c2a61b0d4
lock:
  description: >-
    The release's lock (C(lock.txt)), every distribution with its exact version and the sha256 of each allowed
    file, in the requirements format with C(--hash) options.
  returned: with O(state=built)
  type: str
  sample: "websockets==16.1 \\\n    --hash=sha256:0f4d0b4a...\n"
lock_changes:
  description: >-
    The versions that change from the current release's lock to this one, transitive dependencies included;
    C(before) is null for an added distribution and C(after) for a removed one.
  returned: with O(state=built)
  type: list
  elements: dict
  sample: [{name: websockets, before: "11.0.3", after: "16.1"}]
venv_id:
  description: >-
    Content address of the release's venv alone (its lock and its interpreter). Bots with their own
    configuration have their own release ids; the same venv id means the same packages, which is what a rollout
    checks against its canary.
  returned: with O(state=built)
  type: str
  sample: 9a1c0e77d2b4
canary_id:
  description: >-
    What a canary of this release proves for the rest of the fleet, the venv and the code, without the bot's own
    configuration; the venv id for a release without O(source). canary.yml records it in the canary mark and rollout.yml
    compares it.
  returned: with O(state=built)
  type: str
  sample: 5d0e9c1a2b3f
commit_range:
  description: >-
    The code of the current release (C(from)) and of this one (C(to)), each with kind, id, commit, short and subject;
    C(range) is C(<short>..<short>) when both are commits, and C(text) says it in words.
  returned: with O(state=built), when either release has a O(source)
  type: dict
  sample:
    range: "1a2b3c4d5e6f..6f5e4d3c2b1a"
    text: "code 1a2b3c4d5e6f (Ping every 10 s) -> 6f5e4d3c2b1a (Reconnect after 12 h)"
venv_reused_from:
  description: The release whose venv this build copied instead of installing (the same lock and interpreter).
  returned: with O(state=built), when a build ran and reused a venv
  type: str
unit_changed:
  description: Whether the release's unit file was installed anew (a daemon-reload is due).
  returned: with O(state=active) and O(state=rolled_back), when something was switched
  type: bool
damaged:
  description: What was wrong with a release of the same id that O(state=built) built again.
  returned: with O(state=built), when the release existed damaged
  type: list
  elements: str
release_path:
  description: Directory of that release.
  returned: except with O(state=pruned)
  type: str
  sample: /opt/botfleet/barnacles/releases/3f9c2a61b0d4
release:
  description: >-
    The release's C(release.json) (pins, requirements, resolved versions, the sha256 of its lock, interpreter,
    creation time).
  returned: when the release is built (not in check mode for a new one)
  type: dict
current_id:
  description: The release C(current) points at after the task.
  returned: always
  type: str
canary:
  description: The bot's canary mark from its state file (release, verdict, time), null when it has none.
  returned: always
  type: dict
  sample: {event: canary, verdict: passed, release: 3f9c2a61b0d4, at: "2026-11-27T22:00:00Z", reason: ""}
previous_id:
  description: The release C(current) pointed at before a switch.
  returned: with O(state=active) and O(state=rolled_back)
  type: str
built:
  description: Whether this task built the release.
  returned: with O(state=built), when a build ran
  type: bool
exists:
  description: Whether the release was already built before this task.
  returned: with O(state=built)
  type: bool
installer:
  description: The installer that built the release, V(uv) or V(pip).
  returned: with O(state=built), when a build ran
  type: str
bot:
  description: The bot.
  returned: always
  type: str
removed_staging:
  description: Staging directories of builds that died, removed by O(state=pruned).
  returned: with O(state=pruned)
  type: list
  elements: str
no_previous:
  description: >-
    With O(state=rolled_back) and no O(release_id): the task failed because the bot has no previous release (it was
    first deployed by the run that fails now).
  returned: when that is the case
  type: bool
already_rolled_back:
  description: >-
    With O(state=rolled_back) and no O(release_id): the bot was already rolled back, so its previous release is the
    one it was rolled back from; nothing was switched (C(msg) says so).
  returned: when that is the case
  type: bool
switched:
  description: Whether C(current) was (or in check mode would be) switched.
  returned: with O(state=active) and O(state=rolled_back)
  type: bool
accepted_conflicts:
  description: Declared-requirement conflicts of the new release accepted through O(allow_conflicts).
  returned: with O(state=built)
  type: list
  elements: dict
restarted:
  description: The unit restarted after the switch, with O(restart=true).
  returned: when O(restart=true) and the switch changed something
  type: str
  sample: botfleet-barnacles.service
removed:
  description: Release ids removed by O(state=pruned).
  returned: with O(state=pruned)
  type: list
  elements: str
removed_sources:
  description: >-
    Source archives of C(<root>/.sources) removed by O(state=pruned), since no release of any bot on the host holds
    their tree (those written or used in the last 6 hours stay: a build may be about to unpack one).
  returned: with O(state=pruned)
  type: list
  elements: str
removed_source_cache:
  description: Exported trees (C(trees/<id>.tar)) and mirrors (C(repos/<name>.git)) removed from the controller's cache.
  returned: with O(state=pruned), when something was removed
  type: list
  elements: str
recorded:
  description: The entry written to the state file's C(verdicts) (and C(canary)).
  returned: with O(state=recorded)
  type: dict
  sample: {event: canary, verdict: passed, release: 3f9c2a61b0d4, at: "2026-11-27T08:00:00Z", reason: "", latency: 0.84}
commands:
  description: Installer command lines that ran (credentials in URLs masked).
  returned: when a release was built
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.botfleet.deploy.plugins.module_utils.release_manager import ReleaseManager
from ansible_collections.botfleet.deploy.plugins.module_utils.specs import release_spec


def main():
    module = AnsibleModule(argument_spec=release_spec(), supports_check_mode=True)
    module.exit_json(**ReleaseManager(module).run())


if __name__ == "__main__":
    main()
