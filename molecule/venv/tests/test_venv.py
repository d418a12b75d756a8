"""State of the host after converge and the side effect (upgrade + restart)."""

import json

VENV = "/opt/venvtest/venv"


def versions(host):
    script = "import json, importlib.metadata as m; print(json.dumps({d: m.version(d) for d in ('websockets', 'webex_bot')}))"
    return json.loads(host.check_output(f"{VENV}/bin/python -c \"{script}\""))


def test_unit_is_active_and_enabled(host):
    service = host.service("venvtest.service")
    assert service.is_running
    assert service.is_enabled


def test_venv_holds_the_forced_versions(host):
    assert versions(host) == {"websockets": "14.2", "webex_bot": "1.0.8"}


def test_process_runs_the_venv_python_and_reports_the_new_version(host):
    pid = host.check_output("systemctl show -p MainPID --value venvtest.service")
    cmdline = host.file(f"/proc/{pid}/cmdline").content_string.split("\0")
    assert cmdline[0] == f"{VENV}/bin/python"
    # The restart in the side effect loaded websockets 14.2: the journal says so.
    log = host.check_output("journalctl -u venvtest.service -o cat --no-pager")
    assert log.strip().splitlines()[-1] == "venvtest running websockets 14.2"
