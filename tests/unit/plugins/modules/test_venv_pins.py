"""venv_pins through Ansible (module + action plugin) against real venvs and real packages from the index."""

from __future__ import annotations

import hashlib
import subprocess

import pytest
from conftest import TARGET_PYTHON

pytestmark = pytest.mark.network

UNREACHABLE_INDEX = "http://127.0.0.1:9/simple"


def installed(venv, name):
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", f"import importlib.metadata as m; print(m.version({name!r}))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or None


def test_creates_the_venv_with_pip_and_converges_without_any_index(tmp_path, run_module):
    venv = tmp_path / "bot"
    args = {"path": str(venv), "pins": {"webex_bot": "1.0.8"}, "python": TARGET_PYTHON, "installer": "pip"}
    first = run_module("botfleet.deploy.venv_pins", args)
    assert first.get("failed") is not True, first.get("msg")
    assert first["changed"] is True
    assert first["created"] is True
    assert first["installer"] == "pip"
    assert first["versions"] == {"webex-bot": "1.0.8"}
    assert installed(venv, "websockets") == "11.0.3"  # resolved as webex_bot 1.0.8 declares it

    second = run_module("botfleet.deploy.venv_pins", dict(args, index_url=UNREACHABLE_INDEX))
    assert second.get("failed") is not True, second.get("msg")
    assert second["changed"] is False
    assert second["installer"] is None
    assert second["plan"] == []


def test_check_mode_reports_the_plan_and_diff_without_changing_anything(venv_factory, run_module):
    venv = venv_factory("webex_bot==1.0.8")
    args = {"path": str(venv), "pins": {"webex_bot": "1.0.8", "websockets": "14.2"}, "allow_conflicts": ["websockets"]}
    result = run_module("botfleet.deploy.venv_pins", args, check=True, diff=True)
    assert result["changed"] is True
    assert result["plan"] == [{"name": "websockets", "before": "11.0.3", "after": "14.2", "action": "upgrade"}]
    assert "websockets==11.0.3" in result["diff"]["before"]
    assert "websockets==14.2" in result["diff"]["after"]
    assert installed(venv, "websockets") == "11.0.3"


def test_refuses_a_declared_conflict_and_installs_nothing(venv_factory, run_module):
    venv = venv_factory("webex_bot==1.0.8")
    result = run_module(
        "botfleet.deploy.venv_pins", {"path": str(venv), "pins": {"webex_bot": "1.0.8", "websockets": "14.2"}}
    )
    assert result["failed"] is True
    assert result["changed"] is False
    assert "websockets==11.0.3" in result["msg"]
    assert "add the package to allow_conflicts" in result["msg"]
    assert installed(venv, "websockets") == "11.0.3"


def test_forces_an_allowed_conflict_and_reports_it_in_words(venv_factory, run_module):
    venv = venv_factory("webex_bot==1.0.8")
    result = run_module(
        "botfleet.deploy.venv_pins",
        {"path": str(venv), "pins": {"webex_bot": "1.0.8", "websockets": "14.2"}, "allow_conflicts": ["websockets"]},
    )
    assert result.get("failed") is not True, result.get("msg")
    assert result["versions"] == {"webex-bot": "1.0.8", "websockets": "14.2"}
    assert [c["message"] for c in result["conflicts"]] == [
        "webex-bot 1.0.8 requires websockets==11.0.3, installed 14.2"
    ]
    assert installed(venv, "websockets") == "14.2"


def test_conflict_created_by_an_in_place_change_is_refused_after_install(venv_factory, run_module):
    """Only websockets is pinned, so the resolver never sees webex_bot's requirement: the check afterwards does."""
    venv = venv_factory("webex_bot==1.0.8")
    result = run_module("botfleet.deploy.venv_pins", {"path": str(venv), "pins": {"websockets": "14.2"}})
    assert result["failed"] is True
    assert "webex-bot 1.0.8 requires websockets==11.0.3, installed 14.2" in result["msg"]
    assert "add websockets to allow_conflicts" in result["msg"]


def test_unknown_version_fails_and_changes_nothing(venv_factory, run_module):
    venv = venv_factory("websockets==11.0.3")
    result = run_module("botfleet.deploy.venv_pins", {"path": str(venv), "pins": {"websockets": "99.0"}})
    assert result["failed"] is True
    assert "websockets==99.0" in result["msg"]
    assert installed(venv, "websockets") == "11.0.3"


def test_unknown_package_fails_and_removes_the_venv_it_created(tmp_path, run_module):
    venv = tmp_path / "bot"
    result = run_module(
        "botfleet.deploy.venv_pins",
        {"path": str(venv), "python": TARGET_PYTHON, "pins": {"botfleet-no-such-package-x9": "1.0"}},
    )
    assert result["failed"] is True
    assert "botfleet-no-such-package-x9" in result["msg"]
    assert result["venv_removed"] is True
    assert not venv.exists()


@pytest.mark.parametrize(
    ("pins", "fragment"),
    [
        ({"websockets": ">>14"}, "'>>14' is not a valid PEP 440 version or specifier"),
        ({"web sockets": "14.2"}, "'web sockets' is not a valid Python package name"),
        ({}, "pins is empty"),
    ],
)
def test_bad_pins_fail_before_anything_runs(tmp_path, run_module, pins, fragment):
    venv = tmp_path / "bot"
    result = run_module("botfleet.deploy.venv_pins", {"path": str(venv), "pins": pins})
    assert result["failed"] is True
    assert fragment in result["msg"]
    assert not venv.exists()


def test_a_path_that_is_not_a_venv_is_refused(tmp_path, run_module):
    (tmp_path / "notavenv").mkdir()
    result = run_module("botfleet.deploy.venv_pins", {"path": str(tmp_path / "notavenv"), "pins": {"backoff": "2.2.1"}})
    assert result["failed"] is True
    assert "has no pyvenv.cfg, so it is not a virtualenv" in result["msg"]


def test_pip_installer_in_a_venv_without_pip_says_so(venv_factory, run_module):
    venv = venv_factory()
    result = run_module(
        "botfleet.deploy.venv_pins", {"path": str(venv), "pins": {"backoff": "2.2.1"}, "installer": "pip"}
    )
    assert result["failed"] is True
    assert "has no pip" in result["msg"]


def download_wheel(venv, wheelhouse, requirement):
    """Put the wheel of ``requirement`` (no dependencies) into ``wheelhouse`` with the venv's pip."""
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "-d",
            str(wheelhouse),
            requirement,
        ],
        check=True,
    )


def test_offline_install_from_a_wheelhouse(tmp_path, venv_factory, run_module):
    wheelhouse = tmp_path / "wheels"
    venv = venv_factory("pip")
    download_wheel(venv, wheelhouse, "backoff==2.2.1")
    result = run_module(
        "botfleet.deploy.venv_pins",
        {"path": str(venv), "pins": {"backoff": "2.2.1"}, "find_links": [str(wheelhouse)], "offline": True},
    )
    assert result.get("failed") is not True, result.get("msg")
    assert any("--no-index" in command and str(wheelhouse) in command for command in result["commands"])
    assert installed(venv, "backoff") == "2.2.1"


def test_index_credentials_never_appear_in_the_result(venv_factory, run_module):
    venv = venv_factory()
    result = run_module(
        "botfleet.deploy.venv_pins",
        {"path": str(venv), "pins": {"backoff": "2.2.1"}, "index_url": "http://bot:s3cr3t-token@127.0.0.1:9/simple"},
    )
    assert result["failed"] is True
    assert "s3cr3t-token" not in str(result)


def test_hashes_are_checked(tmp_path, venv_factory, run_module):
    """Hash-checking mode with a real wheel: its own hash installs, another refuses and installs nothing."""
    wheelhouse = tmp_path / "wheels"
    venv = venv_factory("pip")
    download_wheel(venv, wheelhouse, "backoff==2.2.1")
    wheel = next(wheelhouse.glob("backoff-2.2.1-*.whl"))
    digest = "sha256:" + hashlib.sha256(wheel.read_bytes()).hexdigest()
    args = {"path": str(venv), "pins": {"backoff": "2.2.1"}, "find_links": [str(wheelhouse)], "offline": True}

    wrong = run_module("botfleet.deploy.venv_pins", dict(args, hashes={"backoff": ["sha256:" + "0" * 64]}))
    assert wrong["failed"] is True
    assert "hash" in wrong["msg"].lower()
    assert installed(venv, "backoff") is None

    right = run_module("botfleet.deploy.venv_pins", dict(args, hashes={"backoff": [digest]}))
    assert right.get("failed") is not True, right.get("msg")
    assert any("--require-hashes" in command for command in right["commands"])
    assert installed(venv, "backoff") == "2.2.1"


def test_offline_refuses_a_url_requirement_before_anything_runs(tmp_path, run_module):
    result = run_module(
        "botfleet.deploy.venv_pins",
        {
            "path": str(tmp_path / "venv"),
            "pins": {"backoff": "2.2.1"},
            "requirements": ["evil @ https://wheels.example/evil-1.0-py3-none-any.whl"],
            "offline": True,
        },
    )
    assert result["failed"] is True
    assert "names a URL or a path" in result["msg"]
    assert not (tmp_path / "venv").exists()
