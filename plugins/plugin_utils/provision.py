# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What provision.yml says of each bot at the end of its run."""

from __future__ import annotations


def provision_line(bot):
    """One line of the provisioning's summary for one bot.

    ``bot``: {name, vm, failure (why its provisioning failed, with its rollback's outcome, or None),
    provisioned (whether its deployment ran to its end), activation (the bot role's
    botfleet_activation: current_id, previous_id, switched), check_mode}. A bot neither failed nor
    provisioned failed where the run reported its error (its lease, for example).
    """
    name = bot.get("name")
    head = f"{name} on {bot['vm']}" if bot.get("vm") else name
    if bot.get("failure"):
        return f"{head}: FAILED: {bot['failure']}"
    if not bot.get("provisioned"):
        return f"{head}: FAILED (see the error above)"
    activation = bot.get("activation") or {}
    if activation.get("switched"):
        verb = "would switch" if bot.get("check_mode") else "switched"
        change = f"({verb} from {activation.get('previous_id') or 'nothing'})"
    else:
        change = "(unchanged)"
    return f"{head}: release {activation.get('current_id')} {change}"
