"""After every fault: each bot on a whole release that state.json names, its unit active, no lease left."""

import json

BOTS = {
    "botfleet-mol-faults-vm1": ["barnacles", "toodles"],
    "botfleet-mol-faults-vm2": ["jarvis", "msoar"],
}


def test_each_bot_runs_the_release_its_state_names_and_holds_no_lease(host):
    for bot in BOTS[host.backend.get_hostname()]:
        state = json.loads(host.file(f"/var/lib/botfleet/{bot}/state.json").content_string)
        release = host.check_output(f"readlink /opt/botfleet/{bot}/current").rsplit("/", 1)[-1]
        assert state["current"] == release, bot
        assert host.file(f"/opt/botfleet/{bot}/releases/{release}/.complete").exists, bot
        assert host.service(f"botfleet-{bot}.service").is_running, bot
        assert not host.file(f"/var/lib/botfleet/{bot}/lease.json").exists, bot
        installed = host.file(f"/etc/systemd/system/botfleet-{bot}.service").content_string
        assert installed == host.file(f"/opt/botfleet/{bot}/current/botfleet-{bot}.service").content_string, bot
