# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bot_facts: the target lists raw facts, the controller evaluates them with packaging."""

from __future__ import annotations

from ansible_collections.botfleet.deploy.plugins.module_utils.specs import bot_facts_spec
from ansible_collections.botfleet.deploy.plugins.plugin_utils.action import BotfleetAction, ModuleFailed
from ansible_collections.botfleet.deploy.plugins.plugin_utils.facts import venv_report
from ansible_collections.botfleet.deploy.plugins.plugin_utils.pins import PinError, canonical_names, parse_pins


class ActionModule(BotfleetAction):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validated_args(bot_facts_spec())
        try:
            pins = parse_pins(args["pins"])
            canonical_names(args["packages"])
        except PinError as exc:
            return dict(result, failed=True, msg=str(exc))
        module_args = {
            "path": args["path"],
            "units": args["units"],
            "files": args["files"],
            "secret_files": args["secret_files"],
        }
        try:
            raw = self.run_module("botfleet.deploy.bot_facts", module_args, task_vars)
        except ModuleFailed as exc:
            return dict(result, **exc.result)
        result.update(venv_report(raw, pins, args["packages"]))
        result["changed"] = False
        return result
