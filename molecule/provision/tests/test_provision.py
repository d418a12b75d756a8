"""The provisioned lab fleet, checked on the real VMs."""

import json

import pytest
import testinfra

BOTS = {
    "botfleet-mol-prov-vm1": ["barnacles", "toodles", "money_ball"],
    "botfleet-mol-prov-vm2": ["jarvis", "msoar"],
}


def bots_of(host):
    return BOTS[host.backend.get_hostname()]


def main_pid(host, bot):
    return int(host.check_output(f"systemctl show -p MainPID --value botfleet-{bot}.service"))


def test_every_bot_unit_is_active_enabled_and_runs_as_botfleet(host):
    for bot in bots_of(host):
        service = host.service(f"botfleet-{bot}.service")
        assert service.is_running, bot
        assert service.is_enabled, bot
        pid = main_pid(host, bot)
        assert host.process.get(pid=pid).user == "botfleet", bot


def test_every_bot_runs_from_its_own_current_release(host):
    for bot in bots_of(host):
        pid = main_pid(host, bot)
        cmdline = host.file(f"/proc/{pid}/cmdline").content_string.split("\0")
        assert cmdline[:3] == [f"/opt/botfleet/{bot}/current/venv/bin/python", "-m", "botfleet_demo_bot"]
        current = host.file(f"/opt/botfleet/{bot}/current")
        assert current.is_symlink
        release = json.loads(host.file(f"/opt/botfleet/{bot}/current/release.json").content_string)
        assert release["bot"] == bot
        assert release["resolved"]["websockets"] == "11.0.3"
        assert release["resolved"]["webex-bot"] == "1.0.8"
        state = json.loads(host.file(f"/var/lib/botfleet/{bot}/state.json").content_string)
        assert state["current"] == release["id"]


def test_bots_do_not_share_a_venv(host):
    paths = {host.check_output(f"readlink -f /opt/botfleet/{bot}/current") for bot in bots_of(host)}
    assert len(paths) == len(bots_of(host))


def test_env_files_are_0600_root_and_hold_the_token(host):
    for bot in bots_of(host):
        env = host.file(f"/etc/botfleet/{bot}.env")
        assert (env.mode, env.user, env.group) == (0o600, "root", "root")
        assert f'WEBEX_BOT_TOKEN="lab-{bot}-token"' in env.content_string
    assert host.file("/etc/botfleet").mode == 0o750


def test_state_files_are_0640_root_botfleet(host):
    # They quote failures: world-readable (0644) before.
    for bot in bots_of(host):
        state = host.file(f"/var/lib/botfleet/{bot}/state.json")
        assert (state.mode, state.user, state.group) == (0o640, "root", "botfleet"), bot


def test_a_verdict_quoting_a_token_is_recorded_without_any_part_of_it(host):
    # side_effect.yml recorded, for barnacles, a gate verdict quoting its token and the probe's, cut short.
    if "barnacles" not in bots_of(host):
        pytest.skip("barnacles runs on the other VM")
    state = host.file("/var/lib/botfleet/barnacles/state.json").content_string
    reasons = [verdict["reason"] for verdict in json.loads(state)["verdicts"]]
    assert any("********" in reason for reason in reasons), reasons
    assert "lab-barn" not in state
    assert "lab-prob" not in state


@pytest.mark.parametrize(
    "command",
    [
        "systemctl show botfleet-{bot}.service",
        "cat /etc/systemd/system/botfleet-{bot}.service",
        "ps -eo args",
        "journalctl -u botfleet-{bot}.service --no-pager -o cat",
    ],
)
def test_no_token_outside_the_env_file(host, command):
    for bot in bots_of(host):
        output = host.check_output(command.format(bot=bot))
        assert f"lab-{bot}-token" not in output


def test_units_are_hardened(host):
    for bot in bots_of(host):
        rating = host.check_output(f"systemd-analyze security botfleet-{bot}.service --no-pager | tail -1")
        exposure = float(rating.split("botfleet-" + bot + ".service:")[1].split()[0])
        assert exposure < 2.0, rating


def test_bots_are_connected_and_logged_ready(host):
    for bot in bots_of(host):
        log = host.check_output(f"journalctl -u botfleet-{bot}.service --no-pager -o cat")
        assert f"{bot} connected: websocket open, listening for messages" in log


def test_the_unit_and_environment_come_from_the_current_release(host):
    for bot in bots_of(host):
        release = f"/opt/botfleet/{bot}/current"
        installed = host.file(f"/etc/systemd/system/botfleet-{bot}.service")
        assert installed.content_string == host.file(f"{release}/botfleet-{bot}.service").content_string, bot
        assert f"EnvironmentFile={release}/environment" in installed.content_string, bot
        environment = host.file(f"{release}/environment").content_string
        assert f'BOTFLEET_BOT_NAME="{bot}"' in environment, bot
        # The secrets file holds the secrets only, and no release holds a secret.
        assert "BOTFLEET_BOT_NAME" not in host.file(f"/etc/botfleet/{bot}.env").content_string, bot
        files = f"/opt/botfleet/{bot}/releases/*/environment /opt/botfleet/{bot}/releases/*/*.service"
        assert host.run(f"grep -l 'lab-{bot}-token' {files} /opt/botfleet/{bot}/releases/*/release.json").rc == 1, bot


def test_releases_are_root_owned_and_read_only_to_the_bots(host):
    for bot in bots_of(host):
        releases = f"/opt/botfleet/{bot}/releases"
        # Built by botfleet-build, then sealed: no file of another owner, none writable by group or others.
        assert host.check_output(f"find {releases} ! -user root -o ! -group root") == "", bot
        assert host.check_output(f"find {releases} ! -type l -perm /022") == "", bot
        lock = host.file(f"/opt/botfleet/{bot}/current/lock.txt")
        assert (lock.user, lock.mode) == ("root", 0o644), bot
        assert "websockets==11.0.3 \\\n    --hash=sha256:" in lock.content_string, bot


def test_the_build_user_has_no_login_and_no_access_to_secrets(host):
    user = host.user("botfleet-build")
    assert user.shell == "/usr/sbin/nologin"
    assert "botfleet" not in user.groups
    denied = host.run("setpriv --reuid=botfleet-build --regid=botfleet-build --clear-groups -- ls /etc/botfleet")
    assert denied.rc != 0 and "Permission denied" in denied.stderr


def test_the_vm_reads_the_release_store_with_the_modules_own_code(host):
    lib = "/usr/local/lib/botfleet/python"
    assert host.check_output(f"find {lib} ! -user root -o -perm /022") == ""
    # The code botfleet's own commands on the VM import: the same module_utils as the modules.
    reader = host.run(
        f'python3 -c \'import sys; sys.path.insert(0, "{lib}"); '
        "from ansible_collections.botfleet.deploy.plugins.module_utils.release import ReleaseStore; "
        "print(ReleaseStore.__module__)'"
    )
    assert reader.rc == 0, reader.stderr
    assert reader.stdout.strip() == "ansible_collections.botfleet.deploy.plugins.module_utils.release"


def test_the_same_pins_give_the_same_venv_and_lock_on_both_vms():
    vm1, vm2 = (testinfra.get_host(f"podman://botfleet-mol-prov-vm{n}") for n in (1, 2))
    first = json.loads(vm1.file("/opt/botfleet/barnacles/current/release.json").content_string)
    second = json.loads(vm2.file("/opt/botfleet/jarvis/current/release.json").content_string)
    assert first["venv_id"] == second["venv_id"]
    assert (
        vm1.file("/opt/botfleet/barnacles/current/lock.txt").content_string
        == vm2.file("/opt/botfleet/jarvis/current/lock.txt").content_string
    )


def test_the_crash_looping_provision_was_gated_recorded_and_rolled_back(host):
    if "money_ball" not in bots_of(host):
        pytest.skip("money_ball runs on botfleet-mol-prov-vm1")
    state = json.loads(host.file("/var/lib/botfleet/money_ball/state.json").content_string)
    provisions = [v for v in state["verdicts"] if v["event"] == "provision"]
    assert [v["verdict"] for v in provisions] == ["failed"]
    assert provisions[0]["reason"].startswith("gate: unit:")
    assert state["current"] != provisions[0]["release"]
    assert "BOTFLEET_DEMO_EXIT_AFTER" not in host.file("/opt/botfleet/money_ball/current/environment").content_string
    assert host.service("botfleet-money_ball.service").is_running
