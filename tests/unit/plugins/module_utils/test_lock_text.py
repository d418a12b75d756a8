"""The lock's text: parsed, written back the same, digested, compared."""

from __future__ import annotations

import pytest

from ansible_collections.botfleet.deploy.plugins.module_utils.lock import (
    LockError,
    format_lock,
    lock_changes,
    lock_digest,
    lock_versions,
    parse_lock,
    versions_text,
)

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64

UV_OUTPUT = f"""backoff==2.2.1 \\
    --hash={A}
    # via webex-bot
websockets==14.2 \\
    --hash={B} \\
    --hash={A}
"""


def test_parse_lock_reads_uv_output_with_comments_and_continuations():
    assert parse_lock(UV_OUTPUT) == {
        "backoff": {"version": "2.2.1", "hashes": [A]},
        "websockets": {"version": "14.2", "hashes": [A, B]},
    }


def test_format_lock_is_canonical_and_parses_back():
    entries = parse_lock(UV_OUTPUT)
    text = format_lock(entries)
    assert text == f"backoff==2.2.1 \\\n    --hash={A}\nwebsockets==14.2 \\\n    --hash={A} \\\n    --hash={B}\n"
    assert parse_lock(text) == entries
    assert lock_digest(entries) == lock_digest(parse_lock(text))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("backoff==2.2.1\n", "is not 'name==version --hash=sha256:<hex>'"),
        ("backoff>=2 --hash=" + A + "\n", "is not 'name==version"),
        ("evil @ file:///tmp/evil.whl --hash=" + A + "\n", "is not 'name==version"),
        ("backoff==2.2.1 --hash=md5:abc\n", "is not 'name==version"),
        (f"backoff==2.2.1 --hash={A}\nbackoff==2.2.0 --hash={B}\n", "names backoff twice"),
    ],
)
def test_parse_lock_refuses_what_is_not_a_lock(text, fragment):
    with pytest.raises(LockError, match=fragment):
        parse_lock(text)


def test_lock_changes_include_transitive_additions_and_removals():
    before = {"webex-bot": "1.0.8", "websockets": "11.0.3", "coloredlogs": "15.0.1"}
    after = {"webex-bot": "1.3.1", "websockets": "16.1", "pyjwt": "2.15.1"}
    assert lock_changes(before, after) == [
        {"name": "coloredlogs", "before": "15.0.1", "after": None},
        {"name": "pyjwt", "before": None, "after": "2.15.1"},
        {"name": "webex-bot", "before": "1.0.8", "after": "1.3.1"},
        {"name": "websockets", "before": "11.0.3", "after": "16.1"},
    ]
    assert lock_changes(after, after) == []


def test_versions_text_is_what_the_diff_shows():
    assert versions_text(lock_versions(parse_lock(UV_OUTPUT))) == "backoff==2.2.1\nwebsockets==14.2\n"
