# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What to tell the operator about bots whose VM was lost during a run.

Ansible drops a host it cannot reach from the rest of the playbook, and a playbook whose hosts
are all lost ends at once: none of the project's own rescue, summary or failure tasks runs. The
``botfleet.deploy.lost_hosts`` callback collects what happened to each bot until then and prints
these lines instead.
"""

from __future__ import annotations


class LostRun:
    """What one run knew of each bot it lost: the VM, the task, and any switch before the loss."""

    def __init__(self, playbook=None):
        self.playbook = playbook or "this playbook"
        self._switches = {}
        self._lost = {}

    def switched(self, bot, state, release_id, previous_id):
        """Note a switch the run made (``state`` of the release module: active or rolled_back)."""
        self._switches[bot] = {"state": state, "release": release_id, "previous": previous_id}

    def lost(self, bot, vm, task):
        """Note the first task at which ``bot`` (on ``vm``) could not be reached."""
        self._lost.setdefault(bot, {"vm": vm or bot, "task": task or "an unnamed task"})

    def lines(self):
        """One line per lost bot, sorted by bot; empty when no bot was lost."""
        return [self._line(bot, known) for bot, known in sorted(self._lost.items())]

    def _line(self, bot, known):
        vm = known["vm"]
        switch = self._switches.get(bot)
        if switch is None:
            runs = "nothing was switched on it before, so it runs the release it had"
        elif switch["state"] == "rolled_back":
            runs = f"it had been rolled back to release {switch['release']} (from {switch['previous']})"
        else:
            runs = (
                f"it had been switched to release {switch['release']} (from {switch['previous'] or 'none'}) "
                "and was not rolled back"
            )
        return (
            f"{bot}: its VM {vm} could not be reached during {self.playbook}, at task '{known['task']}'; "
            f"{runs}. The run's lease on {bot} stays until it expires. When {vm} is back, "
            f"`ansible-playbook playbooks/status.yml -l {bot}` shows what it runs; run {self.playbook} again "
            "with -e botfleet_break_lease=true (from this controller) to go on"
        )
