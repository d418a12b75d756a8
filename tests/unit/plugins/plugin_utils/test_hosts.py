"""One variable, read across the hosts of a play."""

from __future__ import annotations

from ansible_collections.botfleet.deploy.plugins.plugin_utils.hosts import host_facts

HOSTVARS = {
    "jarvis": {"_botfleet_provision_failed": "provision of jarvis failed: gate: unit: exited 1"},
    "msoar": {"botfleet_vm": "lab-vm2"},
    "toodles": {"_botfleet_provision_failed": "provision of toodles failed: preflight: bad pin"},
}


def test_the_values_come_in_the_hosts_order_from_the_hosts_that_have_them():
    assert host_facts(HOSTVARS, ["toodles", "msoar", "jarvis"], "_botfleet_provision_failed") == [
        "provision of toodles failed: preflight: bad pin",
        "provision of jarvis failed: gate: unit: exited 1",
    ]


def test_no_host_has_it_and_no_hosts_at_all():
    assert host_facts(HOSTVARS, ["msoar"], "_botfleet_provision_failed") == []
    assert host_facts(HOSTVARS, [], "_botfleet_provision_failed") == []


def test_a_host_the_play_does_not_know_is_left_out():
    assert host_facts(HOSTVARS, ["barnacles", "jarvis"], "_botfleet_provision_failed") == [
        "provision of jarvis failed: gate: unit: exited 1"
    ]
