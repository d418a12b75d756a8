# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""release_step: refuse a task that names it. The release action runs the module itself (_execute_module does
not go through this plugin), after it validated the task and resolved the lock on the controller."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

REFUSAL = (
    "botfleet.deploy.release_step is internal to botfleet.deploy.release, whose action runs it for each phase of "
    "a build; nothing ran. Use botfleet.deploy.release with state=built"
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        return dict(result, failed=True, changed=False, msg=REFUSAL)
