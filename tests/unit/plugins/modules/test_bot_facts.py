"""bot_facts through Ansible (module + action plugin) against real venvs."""

from __future__ import annotations

import subprocess

import pytest
from conftest import UV, make_venv

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def forced_venv(tmp_path_factory):
    """The story's canary venv: webex_bot 1.0.8 with websockets 14.2 forced under it."""
    venv = make_venv(tmp_path_factory.mktemp("forced") / "venv", "webex_bot==1.0.8")
    subprocess.run(
        [UV, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "websockets==14.2"], check=True
    )
    return venv


def test_reports_named_packages_pins_and_the_conflict_in_words(forced_venv, run_module):
    result = run_module(
        "botfleet.deploy.bot_facts",
        {
            "path": str(forced_venv),
            "packages": ["webex_bot", "websockets", "absent-pkg"],
            "pins": {"webex_bot": "1.0.8", "websockets": ">=16"},
        },
        check=True,
    )
    assert result["changed"] is False
    assert result["exists"] is True
    assert sorted(result["packages"]) == ["webex-bot", "websockets"]
    assert result["packages"]["websockets"]["version"] == "14.2"
    assert result["missing"] == ["absent-pkg"]
    assert result["pins"]["webex-bot"]["satisfied"] is True
    assert result["pins"]["websockets"] == {
        "name": "websockets",
        "wanted": ">=16",
        "installed": "14.2",
        "satisfied": False,
    }
    assert result["satisfied"] is False
    assert [c["message"] for c in result["conflicts"]] == [
        "webex-bot 1.0.8 requires websockets==11.0.3, installed 14.2"
    ]
    assert result["python"]["version"].startswith("3.")


def test_all_packages_when_none_are_named(forced_venv, run_module):
    result = run_module("botfleet.deploy.bot_facts", {"path": str(forced_venv)})
    assert {"webex-bot", "websockets", "webexpythonsdk", "backoff", "coloredlogs"} <= set(result["packages"])


def test_a_missing_venv_is_reported_not_failed(tmp_path, run_module):
    result = run_module("botfleet.deploy.bot_facts", {"path": str(tmp_path / "nope"), "pins": {"x": "1"}})
    assert result.get("failed") is not True
    assert result["exists"] is False
    assert result["satisfied"] is False


def test_a_directory_that_is_not_a_venv_fails(tmp_path, run_module):
    result = run_module("botfleet.deploy.bot_facts", {"path": str(tmp_path)})
    assert result["failed"] is True
    assert "not a virtualenv" in result["msg"]


def test_a_bad_pin_fails_on_the_controller(forced_venv, run_module):
    result = run_module("botfleet.deploy.bot_facts", {"path": str(forced_venv), "pins": {"websockets": ">>14"}})
    assert result["failed"] is True
    assert "'>>14' is not a valid PEP 440 version or specifier" in result["msg"]


def test_an_unknown_unit_fails_clearly(forced_venv, run_module):
    result = run_module("botfleet.deploy.bot_facts", {"path": str(forced_venv), "units": ["botfleet-nobody.service"]})
    assert result["failed"] is True
    # Without systemd (a container without it) systemctl itself fails; with it, the unit is unknown.
    assert "botfleet-nobody.service" in result["msg"]


def test_the_old_name_still_works_through_its_redirect(forced_venv, run_module):
    """venv_facts (0.1.0) is redirected to bot_facts until 0.3.0, action plugin included: the pins are
    evaluated on the controller, as they are under the new name."""
    args = {"path": str(forced_venv), "packages": ["websockets"], "pins": {"websockets": ">=16"}}
    old = run_module("botfleet.deploy.venv_facts", args)
    new = run_module("botfleet.deploy.bot_facts", args)
    assert old.get("failed") is not True
    assert old["pins"] == new["pins"]
    assert old["pins"]["websockets"]["satisfied"] is False
    assert old["packages"] == new["packages"]
