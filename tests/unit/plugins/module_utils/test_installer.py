"""The uv/pip engine's pure helpers."""

from __future__ import annotations

import pytest

from ansible_collections.botfleet.deploy.plugins.module_utils.installer import (
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
