"""After a rollback with no package source: barnacles serves its previous release."""

import json


def read(host, path):
    return json.loads(host.file(path).content_string)


def test_barnacles_is_back_on_the_old_release(host):
    release = read(host, "/opt/botfleet/barnacles/current/release.json")
    assert (release["resolved"]["webex-bot"], release["resolved"]["websockets"]) == ("1.0.8", "11.0.3")
    state = read(host, "/var/lib/botfleet/barnacles/state.json")
    assert state["current"] == release["id"]
    assert state["history"][-1]["event"] == "rolled_back"
    assert [v["event"] for v in state["verdicts"]][-1] == "rollback"


def test_no_package_source_was_there(host):
    assert not host.file("/var/cache/botfleet/wheelhouse").exists


def test_the_process_was_restarted_onto_the_old_release(host):
    service = host.service("botfleet-barnacles.service")
    assert service.is_running
    pid = host.check_output("systemctl show -p MainPID --value botfleet-barnacles.service")
    started = float(host.check_output(f"stat -c %Y /proc/{pid}"))
    switched = host.file("/opt/botfleet/barnacles/current").mtime.timestamp()
    # /proc/PID's mtime has whole seconds here; the restart follows the switch.
    assert started >= int(switched)
