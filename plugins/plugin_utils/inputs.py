# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of role inputs that run on the controller before anything changes on a host."""

from __future__ import annotations

import re

from ansible_collections.botfleet.deploy.plugins.plugin_utils.pins import PinError, parse_pins, parse_requirements

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
            if not ENV_NAME.match(str(key)):
                problems.append(f"{label}: {key!r} is not a valid environment variable name")
            if value is None or (label == "botfleet_secrets" and str(value) == ""):
                problems.append(f"{label}: {key} has no value")
            elif "\n" in str(value) or "\0" in str(value):
                problems.append(f"{label}: the value of {key} spans lines; environment files hold one line each")
    both = (
        set(environment or {}) & set(secrets or {})
        if isinstance(environment, dict) and isinstance(secrets, dict)
        else set()
    )
    for key in sorted(both):
        problems.append(f"{key} is in both botfleet_environment and botfleet_secrets; keep it in one")
    return problems


def systemd_env_value(value):
    """Quote a value for a systemd EnvironmentFile (double quotes, backslash escapes)."""
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'
