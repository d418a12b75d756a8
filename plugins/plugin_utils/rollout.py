# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a rollout says: why a batch stops, and where each bot stands at the end."""

from __future__ import annotations


def rollout_stop_reason(failures, lost, info):
    """Why a rollout batch stops, in one line; empty when nothing failed and no bot was lost.

    ``failures`` maps each bot of the batch to what failed on it (empty when nothing did);
    ``lost`` lists the bots that could not be reached; ``info`` maps a lost bot to what the
    rollout knew of it ({vm, current, target}), to say what it may be running.
    """
    reasons = [f"{bot}: {text}" for bot, text in sorted((failures or {}).items()) if text]
    for bot in sorted(lost or ()):
        known = (info or {}).get(bot) or {}
        vm = known.get("vm") or "its VM"
        current, target = known.get("current"), known.get("target")
        runs = f"it runs release {current or 'none'}"
        if target and target != current:
            runs += f", or {target} if it was switched before it was lost"
        reasons.append(
            f"{bot} could not be reached ({vm}): {runs}; when {vm} is back, run rollout.yml again: it reads what "
            "each bot runs and redeploys or rolls back a half-done one"
        )
    return "; ".join(reasons)


def rollout_line(bot):
    """One line of the rollout's summary for one bot.

    ``bot``: {name, part: canary | converged | target, check_mode, info: the rollout's
    {current, target}, release (id deployed), changed, gate (summary or None), drift (list),
    rollback (its outcome, or None), reached (whether its batch ran), soak (the canary's soak verdict)}.
    """
    name, info = bot["name"], bot.get("info") or {}
    if bot.get("part") == "canary":
        soak = f": {bot['soak']}" if bot.get("soak") else ""
        return f"{name}: canary, on release {info.get('target')}{soak}"
    if bot.get("part") == "converged":
        return f"{name}: already on release {info.get('target')} as deployed (left out of the batches)"
    if bot.get("rollback"):
        return f"{name}: {bot['rollback']}"
    if not bot.get("reached"):
        return f"{name}: not touched, the rollout stopped before its batch (it runs release {info.get('current')})"
    if not bot.get("changed"):
        return f"{name}: already on release {bot.get('release')}"
    moved = info.get("current") != info.get("target")
    verb = (
        ("would move to" if moved else "would redeploy")
        if bot.get("check_mode")
        else ("moved to" if moved else "redeployed")
    )
    gate = f" ({bot['gate']})" if bot.get("gate") else ""
    return f"{name}: {verb} release {bot.get('release')}{gate}; found: {'; '.join(bot.get('drift') or [])}"
