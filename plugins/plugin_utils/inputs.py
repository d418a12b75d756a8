# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of role inputs that run on the controller before anything changes on a host."""

from __future__ import annotations

from ansible_collections.botfleet.deploy.plugins.module_utils.validate import (
    env_file_value,
    env_name_problem,
    env_value_problem,
)
from ansible_collections.botfleet.deploy.plugins.plugin_utils.pins import PinError, parse_pins, parse_requirements


def pin_problems(pins, requirements=None):
    """Every problem with ``pins`` and ``requirements``, as sentences; empty when they are valid."""
    problems = []
    if not isinstance(pins, dict) or not pins:
        return ["botfleet_pins must be a non-empty mapping of package name to version or specifier"]
    for name, value in pins.items():
        try:
            parse_pins({name: value})
        except PinError as exc:
            problems.append(str(exc))
    if not problems:
        try:
            parse_pins(pins)
        except PinError as exc:
            problems.append(str(exc))
    for line in requirements or []:
        try:
            parse_requirements([line])
        except PinError as exc:
            problems.append(str(exc))
    return problems


def env_problems(environment, secrets):
    """Problems with the environment and secret entries, naming keys only, never values."""
    problems = []
    for label, entries in (("botfleet_environment", environment), ("botfleet_secrets", secrets)):
        if entries is None:
            continue
        if not isinstance(entries, dict):
            problems.append(f"{label} must be a mapping of variable name to value")
            continue
        for key, value in entries.items():
            name_problem = env_name_problem(key, label)
            if name_problem is not None:
                problems.append(name_problem)
                # The key itself is not printable as is; its value is not named by it.
                continue
            if label == "botfleet_secrets" and value is not None and str(value) == "":
                value = None
            value_problem = env_value_problem(key, value, label)
            if value_problem is not None:
                problems.append(value_problem)
    both = (
        set(environment or {}) & set(secrets or {})
        if isinstance(environment, dict) and isinstance(secrets, dict)
        else set()
    )
    for key in sorted(both):
        problems.append(f"{key} is in both botfleet_environment and botfleet_secrets; keep it in one")
    return problems


def systemd_env_value(value):
    """Quote a value for a systemd EnvironmentFile (module_utils/validate.py, env_file_value)."""
    return env_file_value(value)
