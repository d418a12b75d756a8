# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Common ground of botfleet's action plugins."""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.action import ActionBase

from ansible_collections.botfleet.deploy.plugins.plugin_utils.pins import PACKAGING_IMPORT_ERROR
from ansible_collections.botfleet.deploy.plugins.plugin_utils.secrets import SECRET_VARIABLES, host_secrets


class ModuleFailed(Exception):
    """A module run on the target failed; ``result`` is its result, unchanged."""

    def __init__(self, result):
        super().__init__(result.get("msg", "module failed"))
        self.result = result


class BotfleetAction(ActionBase):
    """Validates arguments on the controller, before anything runs on the target."""

    TRANSFERS_FILES = False

    def validated_args(self, spec):
        if PACKAGING_IMPORT_ERROR is not None:
            raise AnsibleError(
                missing_required_lib("packaging") + " (on the controller)", orig_exc=PACKAGING_IMPORT_ERROR
            )
        # Raises (and so fails the task) on the first invalid argument, in check mode too.
        _validation, args = self.validate_argument_spec(argument_spec=spec)
        return args

    def run_module(self, name, args, task_vars):
        result = self._execute_module(module_name=name, module_args=args, task_vars=task_vars)
        if result.get("failed"):
            raise ModuleFailed(result)
        return result

    def host_redact(self, task_vars):
        """The host's secrets (plugin_utils/secrets.py), templated, so that a verdict recorded without redact
        is scrubbed too."""
        variables = {}
        for name in SECRET_VARIABLES:
            if name in (task_vars or {}):
                try:
                    variables[name] = self._templar.template(task_vars[name])
                except AnsibleError:
                    # Undefined parts fail the tasks that use them; bookkeeping must not fail on them.
                    continue
        return host_secrets(variables)
