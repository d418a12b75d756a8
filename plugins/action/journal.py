# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""journal: add the host's secrets to what the module masks, so that a verdict recorded by a task that does not
pass redact is scrubbed too."""

from __future__ import annotations

from ansible_collections.botfleet.deploy.plugins.module_utils.scrub import Scrubber, record_secrets
from ansible_collections.botfleet.deploy.plugins.module_utils.specs import journal_spec
from ansible_collections.botfleet.deploy.plugins.plugin_utils.action import BotfleetAction, ModuleFailed

MODULE = "botfleet.deploy.journal"


class ActionModule(BotfleetAction):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validated_args(journal_spec())
        redact = [*args["redact"], *self.host_redact(task_vars)]
        module_args = dict({key: value for key, value in args.items() if value is not None}, redact=redact)
        try:
            result.update(self.run_module(MODULE, module_args, task_vars))
        except ModuleFailed as exc:
            result.update(exc.result)
        return Scrubber(record_secrets(redact))(result)
