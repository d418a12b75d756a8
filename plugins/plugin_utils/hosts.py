# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the hosts of a play noted: one variable, read across them."""

from __future__ import annotations

from collections.abc import Mapping


def host_facts(hostvars, hosts, name):
    """The values of variable ``name`` on each of ``hosts`` that has it, in the hosts' order.

    What a summary task needs of the other bots of its play (their failures, their refusals),
    without a chain of extract, selectattr and map in the playbook.
    """
    values = []
    for host in hosts:
        variables = hostvars.get(host)
        if isinstance(variables, Mapping) and name in variables:
            values.append(variables[name])
    return values
