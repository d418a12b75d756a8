# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: source
short_description: Resolve a bot's source on the controller and export its tree
version_added: 0.2.0
description:
  - Resolves a git repository and ref to a commit, or reads a directory on the controller, and exports its tree as a tar
    archive (no C(.git); from git, no untracked file unless C(untracked) is true) into a cache on the controller
    (C(~/.cache/botfleet/sources), or E(BOTFLEET_SOURCE_CACHE)) keyed by the commit or the tree's sha256, so that bots
    of one source share one export.
  - With C(untracked=true) a repo source is its working tree as git would commit it, tracked files as they are on disk
    and untracked ones no C(.gitignore) excludes; its id is that tree's sha256. C(version), if given, must be the
    commit checked out there.
  - The C(botfleet.deploy.bot) role copies the archive once per VM and M(botfleet.deploy.release) unpacks it as the
    release's C(app/); the release id covers the commit or the tree's digest.
author: botfleet maintainers (@botfleet)
options:
  _terms:
    description:
      - The source, a mapping with C(repo) (a path or URL of a git repository), C(version) (a ref) and C(untracked)
        (a bool), or C(dir).
    type: list
    elements: dict
    required: true
  requirements_file:
    description: A requirements file inside the source whose lines are returned as C(requirements).
    type: str
    default: ""
  install:
    description:
      - The source is a Python project to install into the release's venv (C(botfleet_source_install)). Its
        C(pyproject.toml) must name the project; its C(dependencies) are returned in C(requirements). A source
        without a C(pyproject.toml) is an error.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Resolve the bots' repository at its main branch
  ansible.builtin.set_fact:
    bots_source: "{{ lookup('botfleet.deploy.source', {'repo': '/srv/git/bots.git', 'version': 'main'},
                     requirements_file='requirements.txt') }}"
"""

RETURN = r"""
_raw:
  description: >-
    One mapping per source - kind (git or dir), id (the commit or the tree's sha256), commit, short, subject, archive
    (its path on the controller), sha256 (of the archive) and requirements; with install, also install and project
    (name, version).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.botfleet.deploy.plugins.plugin_utils.source import SourceError, resolve_source


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        try:
            return [
                resolve_source(term, self.get_option("requirements_file"), install=self.get_option("install"))
                for term in terms
            ]
        except SourceError as exc:
            raise AnsibleLookupError(str(exc)) from exc
