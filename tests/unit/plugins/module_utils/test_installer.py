"""The uv/pip engine's pure helpers."""

from __future__ import annotations

import os

import pytest

from ansible_collections.botfleet.deploy.plugins.module_utils.installer import (
    INDEX_ENV,
    Installer,
    install_sets,
    normalize_name,
    redact,
    requirement_line,
    summarize,
)


@pytest.mark.parametrize(
    ("name", "normalized"),
    [("webex_bot", "webex-bot"), ("Webex.Bot", "webex-bot"), ("websockets", "websockets"), ("a__b--c", "a-b-c")],
)
def test_normalize_name(name, normalized):
    assert normalize_name(name) == normalized


def test_requirement_line_turns_versions_into_exact_pins_and_appends_hashes():
    assert requirement_line("Webex_Bot", "1.3.1") == "webex-bot==1.3.1"
    assert requirement_line("websockets", ">=16,<17") == "websockets>=16,<17"
    assert requirement_line("websockets", "==14.2", ["sha256:aa", "sha256:bb"]) == (
        "websockets==14.2 --hash=sha256:aa --hash=sha256:bb"
    )


def test_install_sets_put_allowed_conflicts_in_a_second_run():
    resolved, forced = install_sets(
        {"webex_bot": "==1.0.8", "websockets": "==14.2"}, ["botfleet-demo-bot==0.1.0"], ["WebSockets"]
    )
    assert resolved == ["webex-bot==1.0.8", "botfleet-demo-bot==0.1.0"]
    assert forced == ["websockets==14.2"]


def test_install_sets_without_allowed_conflicts_resolve_everything_together():
    resolved, forced = install_sets({"webex_bot": "==1.0.8", "websockets": "==14.2"}, [], [])
    assert resolved == ["webex-bot==1.0.8", "websockets==14.2"]
    assert forced == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("--index-url https://bot:s3cret@pypi.example/simple", "--index-url https://***@pypi.example/simple"),
        ("https://token@pypi.example/simple x", "https://***@pypi.example/simple x"),
        ("https://pypi.example/simple", "https://pypi.example/simple"),
        ("git+ssh://git@github.com/x/y", "git+ssh://***@github.com/x/y"),
    ],
)
def test_redact_masks_credentials_in_urls(text, expected):
    assert redact(text) == expected


def test_summarize_keeps_the_lines_that_say_why():
    pip_output = """Collecting webex_bot==1.0.8
  Using cached webex_bot-1.0.8-py2.py3-none-any.whl
INFO: pip is looking at multiple versions of webex-bot to determine which version is compatible.
ERROR: Cannot install webex-bot==1.0.8 and websockets==14.2 because these package versions have conflicting \
dependencies.

The conflict is caused by:
    The user requested websockets==14.2
    webex-bot 1.0.8 depends on websockets==11.0.3

ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/"""
    summary = summarize(pip_output)
    assert "The user requested websockets==14.2" in summary
    assert "webex-bot 1.0.8 depends on websockets==11.0.3" in summary
    assert "for help visit" not in summary
    assert "Using cached" not in summary


def test_summarize_falls_back_to_the_last_lines_and_limits_length():
    assert summarize("a\nb\nc\nd") == "b c d"
    assert summarize("") == "no output"
    assert len(summarize("error " * 500)) == 800


class FakeModule:
    """Records the installer runs; every run succeeds."""

    _name = "botfleet.deploy.test"

    def __init__(self):
        self.runs = []

    def get_bin_path(self, name, required=False):
        return f"/usr/bin/{name}"

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs["msg"])

    def run_command(self, argv, environ_update=None):
        env = dict(os.environ, **(environ_update or {}))
        self.runs.append((argv, env))
        return 0, "", ""


@pytest.fixture
def index_env(monkeypatch):
    """An operator's shell that names an index in the environment."""
    for name in INDEX_ENV:
        monkeypatch.setenv(name, "https://index.example/simple")


@pytest.mark.parametrize("choice", ["uv", "pip"])
def test_offline_installer_gets_no_network(tmp_path, index_env, choice):
    module = FakeModule()
    installer = Installer(
        module, choice=choice, index_url="https://index.example/simple", find_links=["/wheels"], offline=True
    )
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "pip").write_text("")
    (venv / "bin" / "pip").chmod(0o755)
    installer.install(str(venv), ["backoff==2.2.1"], "installing the pins")
    argv, env = module.runs[-1]
    assert "--no-index" in argv
    assert ("--offline" in argv) == (choice == "uv")
    assert not [name for name in INDEX_ENV if name in env]
    assert env["UV_OFFLINE"] == "1" and env["PIP_NO_INDEX"] == "1"
    assert "index.example" not in " ".join(argv) + " ".join(env.values())


def test_offline_uv_venv_is_created_offline(tmp_path):
    module = FakeModule()
    Installer(module, choice="uv", offline=True).create_venv("/usr/bin/python3", str(tmp_path / "venv"))
    assert "--offline" in module.runs[-1][0]


def test_online_installer_passes_the_index_through_the_environment(tmp_path):
    module = FakeModule()
    installer = Installer(module, choice="uv", index_url="https://index.example/simple")
    installer.install(str(tmp_path / "venv"), ["backoff==2.2.1"], "installing the pins")
    argv, env = module.runs[-1]
    assert env["UV_INDEX_URL"] == "https://index.example/simple"
    assert "--offline" not in argv and "--no-index" not in argv
