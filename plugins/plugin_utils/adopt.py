# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The first release of a bot adopted from its hand-started process (adopt.yml), and its summary line.

Controller side: from what botfleet.deploy.nohup_facts found on the VM, the values the bot role
builds the first release with (the versions the process's venv has, the checkout's commit, the
script, PYTHONPATH and the plain environment), and in words what differs from the inventory.
"""

from __future__ import annotations

import re


def _canonical(pins):
    # PEP 503 names: Webex-Bot, webex_bot and webex.bot are one distribution.
    return {re.sub(r"[-_.]+", "-", str(name)).lower(): (name, str(version)) for name, version in (pins or {}).items()}


def adoption_plan(found, repo, inventory=None):
    """{pins, source, exec, pythonpath, environment, differences, warnings} of the bot's first release.

    ``found`` is nohup_facts' result; ``repo`` where the controller reaches the checkout's repository;
    ``inventory`` the bot's pins, requirements, exec and environment in inventory (for the differences).
    """
    inventory = inventory or {}
    environment = dict(found.get("environment") or {})
    pythonpath = environment.pop("PYTHONPATH", "")
    pins = dict(sorted((found.get("distributions") or {}).items()))
    differences = []
    have = _canonical(pins)
    for key, (name, version) in sorted(_canonical(inventory.get("pins")).items()):
        if key not in have:
            differences.append(f"{name}: pinned {version} in inventory, not in the bot's venv")
        elif have[key][1] != version:
            differences.append(f"{name}: runs {have[key][1]}, inventory pins {version}")
    for requirement in inventory.get("requirements") or []:
        differences.append(f"requirement {requirement} in inventory: the adopted release has the venv's versions only")
    if inventory.get("exec") and inventory["exec"] != found.get("script"):
        differences.append(f"runs {found.get('script')}, inventory's botfleet_exec is {inventory['exec']}")
    inventory_env = inventory.get("environment") or {}
    for key in sorted(set(inventory_env) | set(environment)):
        if key not in environment:
            differences.append(f"environment {key}: set in inventory, not in the process's environment")
        elif key not in inventory_env:
            differences.append(f"environment {key}: in the process's environment, not in inventory")
        elif str(inventory_env[key]) != environment[key]:
            differences.append(
                f"environment {key}: {environment[key]!r} in the process, {inventory_env[key]!r} in inventory"
            )
    if not pythonpath:
        differences.append("the process runs without PYTHONPATH; the unit sets PYTHONPATH=. as botfleet does")
    return {
        "pins": pins,
        "source": {"repo": repo, "version": found.get("commit")},
        "exec": found.get("script"),
        "pythonpath": pythonpath or ".",
        "environment": environment,
        "differences": differences,
    }


def adoption_line(bot):
    """One line of adopt.yml's summary for one bot.

    ``bot``: name, vm, check_mode, found (nohup_facts' result or None), release (the build's
    release_id or None), handover (nohup_handover's result or None), failure (str or None),
    restored (the restore's result or None).
    """
    name = f"{bot['name']} on {bot.get('vm') or '?'}"
    found = bot.get("found") or {}
    seen = f"pid {found['pid']} ({' '.join(found.get('argv') or [])} in {found.get('cwd')})" if found.get("pid") else ""
    if bot.get("failure"):
        restored = bot.get("restored")
        if restored and restored.get("restarted"):
            after = f"restarted as it was (pid {restored.get('pid')}, logging to {restored.get('log')})"
        elif restored:
            after = f"its hand-started process still runs (pid {restored.get('pid')})"
        else:
            after = f"left running as found{': ' + seen if seen else ''}"
        return f"{name}: NOT ADOPTED: {bot['failure']}; {after}"
    if bot.get("managed"):
        return f"{name}: runs under botfleet already; nothing to adopt (status.yml shows its release)"
    release = bot.get("release") or "?"
    if bot.get("check_mode"):
        return f"{name}: would adopt {seen} as release {release}"
    handover = bot.get("handover") or {}
    if not handover.get("changed", True):
        return f"{name}: already adopted, release {release}"
    return (
        f"{name}: adopted {seen} as release {release}; gap {handover.get('gap')} s "
        f"(stop took {handover.get('stop_seconds')} s{', killed' if handover.get('killed') else ''}); "
        f"its old log stays at {handover.get('log')}"
    )
