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


class BatchError(ValueError):
    """botfleet_rollout_batches is not a list of batch sizes."""


# botfleet_rollout_batches when the inventory gives none: one bot, then half the fleet, then the rest.
DEFAULT_BATCHES = (1, "50%", "100%")


def rollout_batches(batches, count):
    """The size of each batch of a rollout of ``count`` bots, as Ansible's ``serial`` would cut them.

    ``batches`` is botfleet_rollout_batches (None: DEFAULT_BATCHES): a size or a list of sizes, each a
    number of bots or a percentage of ``count`` ("50%", at least one bot); the last size repeats until
    every bot is in a batch, and 0 puts all the bots left in one. The sizes returned add up to
    ``count``, so the rollout can say its batches before the first one starts.
    """
    if batches is None:
        batches = DEFAULT_BATCHES
    sizes = list(batches) if isinstance(batches, (list, tuple)) else [batches]
    if not sizes:
        raise BatchError(
            "botfleet_rollout_batches is empty; give at least one batch size, for example [1, '50%', '100%']"
        )
    wanted = [_batch_size(size, count) for size in sizes]
    left, cut, index = count, [], 0
    while left > 0:
        size = wanted[min(index, len(wanted) - 1)]
        size = left if size == 0 else min(size, left)
        cut.append(size)
        left -= size
        index += 1
    return cut


def rollout_forks_line(batch, forks):
    """What to say when a batch has more bots than Ansible runs at once (its forks); empty otherwise.

    Ansible runs each task of a batch on ``forks`` hosts at a time, so a batch of 35 bots with the
    default 10 forks gates its bots in four turns: the batch takes four times as long as it would
    with 35 forks. Forks cannot be changed from a playbook; the line says where to set them.
    """
    size, forks = len(batch), int(forks)
    if size <= forks:
        return ""
    turns = -(-size // forks)
    return (
        f"this batch has {size} bots and Ansible runs {forks} at a time (forks), so each of its steps takes "
        f"{turns} turns: run with --forks {size} (or forks in ansible.cfg, Forks in an AWX job template) "
        "to deploy and gate them together"
    )


def _batch_size(size, count):
    text = str(size).strip()
    problem = (
        f"botfleet_rollout_batches: {size!r} is not a batch size; give a number of bots (1, 2, or 0 for all the rest) "
        "or a percentage of them from 1% to 100% ('50%')"
    )
    if isinstance(size, bool) or not isinstance(size, (int, str)):
        raise BatchError(problem)
    if text.endswith("%"):
        if not text[:-1].isdigit() or not 1 <= int(text[:-1]) <= 100:
            raise BatchError(problem)
        return int(int(text[:-1]) / 100.0 * count) or 1
    if not text.isdigit():
        raise BatchError(problem)
    return int(text)


def rollout_start_line(check, soak, limit=None):
    """What the rollout says once its canary check is done: the canary it follows, or why it refuses.

    ``check`` is canary_check's result, ``soak`` botfleet_canary_soak, ``limit`` the run's --limit
    (None without one): a refusal that found no canary asks whether the limit left it out.
    """
    canaries = check.get("canaries") or {}
    if check.get("ok"):
        return f"canary {', '.join(canaries.values())} passed venv {', '.join(canaries.keys())} and has soaked {soak}"
    hint = f" (is the canary within --limit {limit}?)" if limit is not None and not canaries else ""
    return f"rollout refused: {check.get('reason')}{hint}"


def rollout_refused(refusals, lost):
    """Why the rollout does not start, in one line; empty when no bot refused and none was lost.

    ``refusals`` are the bots' refusals (the canary check's repeats on every bot: said once),
    ``lost`` the bots that could not be reached before the rollout started.
    """
    reasons = list(dict.fromkeys(refusals or ()))
    if lost:
        reasons.append(f"unreachable: {', '.join(lost)}")
    return f"rollout refused, nothing was changed: {'; '.join(reasons)}" if reasons else ""


def rollout_unreached(hostvars, batch, hosts_all, hosts):
    """The bots a batch lost before deploying, and the line that stops the rollout for them.

    A bot is lost when Ansible dropped it from the play (``hosts_all`` less ``hosts``) or its lease
    renewal (``__botfleet_lease``) found it unreachable: Ansible drops an unreachable bot from a
    batch without counting it as failed. Returns {lost, stop}; ``stop`` is empty when none was lost.
    """
    lost = [bot for bot in hosts_all if bot not in hosts]
    lost += [
        bot for bot in batch if (hostvars[bot].get("__botfleet_lease") or {}).get("unreachable") and bot not in lost
    ]
    if not lost:
        return {"lost": [], "stop": ""}
    reason = rollout_stop_reason({}, lost, _rollout_info(hostvars, lost))
    return {"lost": lost, "stop": f"rollout stopped before deploying {', '.join(batch)}: {reason}"}


def rollout_batch_stop(hostvars, batch, reached):
    """Why a batch stops after its deployment, or empty: what failed on its bots (``_botfleet_failure``)
    and which of ``batch`` (its bots at the start) are no longer ``reached``."""
    failures = {bot: hostvars[bot].get("_botfleet_failure") or "" for bot in reached}
    lost = [bot for bot in batch if bot not in reached]
    return rollout_stop_reason(failures, lost, _rollout_info(hostvars, lost))


def rollout_stopped_message(hostvars, stop, batch):
    """The team's message when the rollout stops: the reason, then each rollback's outcome."""
    outcomes = [
        f"{bot}: {hostvars[bot]['botfleet_rollback'].get('outcome')}"
        for bot in batch
        if hostvars[bot].get("botfleet_rollback") is not None
    ]
    return f"**{stop}**. {'; '.join(outcomes)}".rstrip()


def _rollout_info(hostvars, bots):
    return {bot: hostvars[bot].get("_botfleet_rollout_info") or {} for bot in bots}
