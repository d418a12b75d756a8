# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: wheelhouse_id
short_description: The content address of a wheelhouse on the controller
version_added: 0.2.0
description:
  - Returns the sha256 over the sorted C(<sha256>  <file name>) lines of the C(*.whl) files of each directory given,
    so that a wheel rebuilt or swapped under the same name gives another id.
  - M(botfleet.deploy.release) installs by hash from the release's lock; this id is how the C(bot_host) role knows
    that the VM's copy of the wheelhouse is not the controller's any more.
author: botfleet maintainers (@botfleet)
options:
  _terms:
    description: Directories on the controller.
    type: list
    elements: path
    required: true
"""

EXAMPLES = r"""
- name: Show the id of the lab wheelhouse
  ansible.builtin.debug:
    msg: "{{ lookup('botfleet.deploy.wheelhouse_id', playbook_dir ~ '/../.cache/wheelhouse') }}"
"""

RETURN = r"""
_raw:
  description: One id (64 hexadecimal digits) per directory.
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.botfleet.deploy.plugins.plugin_utils.wheelhouse import WheelhouseError, wheelhouse_id


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        try:
            return [wheelhouse_id(str(term)) for term in terms]
        except WheelhouseError as exc:
            raise AnsibleLookupError(str(exc)) from exc
