# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of botfleet.deploy; their documentation is in the YAML files next to this one."""

from __future__ import annotations

from ansible_collections.botfleet.deploy.plugins.plugin_utils.inputs import (
    env_problems,
    pin_problems,
    systemd_env_value,
)


class FilterModule:
    def filters(self):
        return {
            "pin_problems": pin_problems,
            "env_problems": env_problems,
            "systemd_env_value": systemd_env_value,
        }
