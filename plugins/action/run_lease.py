# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_lease: tell the target which run asks, and whether the run holding the lease is gone.

Only this controller can tell whether a run it started is gone, and only once it knows the
holder; so when the module refuses a holder of this controller whose process has ended, the
action asks again, naming that run as gone. The module decides under the bot's lock.
"""

from __future__ import annotations

from ansible_collections.botfleet.deploy.plugins.module_utils.specs import run_lease_spec
from ansible_collections.botfleet.deploy.plugins.plugin_utils.action import BotfleetAction
from ansible_collections.botfleet.deploy.plugins.plugin_utils.lease import holder_is_gone, this_run

MODULE = "botfleet.deploy.run_lease"


class ActionModule(BotfleetAction):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validated_args(run_lease_spec())
        if args.get("_holder") is not None:
            return dict(result, failed=True, msg="options starting with _ are internal to the run_lease action")
        run = this_run()
        module_args = dict({key: value for key, value in args.items() if value is not None}, _holder=run)
        answer = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
        holder = answer.get("holder")
        if answer.get("failed") and holder and holder_is_gone(holder, run["controller"]):
            module_args["_holder"] = dict(run, gone=[holder["run_id"]])
            answer = self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
        result.update(answer)
        return result
