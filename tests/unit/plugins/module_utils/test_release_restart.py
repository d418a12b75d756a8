"""release state=rolled_back with restart: switch and restart in one call, or say why the bot did not restart."""

from __future__ import annotations

import os

import pytest
from conftest import fake_release

from ansible_collections.botfleet.deploy.plugins.module_utils.release import ReleaseStore
from ansible_collections.botfleet.deploy.plugins.module_utils.release_manager import ReleaseManager
from ansible_collections.botfleet.deploy.plugins.module_utils.specs import release_spec

OLD, NEW = "a" * 12, "b" * 12
UNIT = "botfleet-toodles.service"


class Failed(Exception):
    pass


class Module:
    """What ReleaseManager uses of AnsibleModule; systemctl answers as told and every call is kept."""

    check_mode = False
    _diff = False

    def __init__(self, refusals=0, **params):
        self.params = {name: spec.get("default") for name, spec in release_spec().items()}
        self.params.update(params)
        self.calls = []
        self.refusals = refusals

    def run_command(self, argv):
        self.calls.append(argv)
        if argv[1] == "restart" and self.refusals:
            self.refusals -= 1
            return 1, "", "Job for botfleet-toodles.service failed: start request repeated too quickly"
        return 0, "", ""

    def fail_json(self, **result):
        raise Failed(result["msg"])

    def deprecate(self, *args, **kwargs):
        pass


@pytest.fixture
def paths(tmp_path):
    """toodles deployed on OLD, then moved to NEW."""
    paths = {"root": str(tmp_path / "opt"), "state_dir": str(tmp_path / "state"), "unit_dir": str(tmp_path / "units")}
    os.makedirs(paths["unit_dir"])
    store = ReleaseStore(paths["root"], paths["state_dir"], "toodles")
    fake_release(store, OLD, "2026-11-27T06:00:00Z", UNIT, "old\n")
    fake_release(store, NEW, "2026-11-28T06:00:00Z", UNIT, "new\n")
    with store.lock():
        store.activate(OLD, "activated", paths["unit_dir"])
        store.activate(NEW, "activated", paths["unit_dir"])
    return paths


def roll_back(paths, **params):
    module = Module(bot="toodles", state="rolled_back", state_group="", **paths, **params)
    return module, ReleaseManager(module).run()


def test_a_rollback_with_restart_reloads_and_restarts_the_unit_in_the_same_call(paths):
    module, result = roll_back(paths, restart=True)
    assert result["switched"] is True and result["current_id"] == OLD
    assert result["restarted"] == UNIT
    assert module.calls == [["systemctl", "daemon-reload"], ["systemctl", "restart", "--", UNIT]]
    with open(os.path.join(paths["unit_dir"], UNIT)) as handle:
        assert handle.read() == "old\n"


def test_without_restart_nothing_is_restarted(paths):
    module, result = roll_back(paths)
    assert result["switched"] is True
    assert "restarted" not in result
    assert module.calls == []


def test_a_used_up_start_limit_is_cleared_and_the_restart_tried_again(paths):
    module, result = roll_back(paths, restart=True, refusals=1)
    assert result["restarted"] == UNIT
    assert ["systemctl", "reset-failed", "--", UNIT] in module.calls


def test_a_restart_that_fails_says_the_bot_is_switched_and_where_to_look(paths):
    with pytest.raises(Failed, match=rf"switched to {OLD}, but {UNIT} did not restart: .*journalctl -u {UNIT}"):
        roll_back(paths, restart=True, refusals=2)
    # The switch stands: the bot is on the release it was rolled back to.
    assert os.readlink(os.path.join(paths["root"], "toodles", "current")).endswith(OLD)
