"""The bot's source on the controller: a git ref resolved to a commit, a directory's tree, their export."""

from __future__ import annotations

import tarfile

import pytest
from conftest import bots_repository, git

from ansible_collections.botfleet.deploy.plugins.plugin_utils.source import (
    SourceError,
    commit_range,
    merge_requirements,
    requirement_lines,
    resolve_source,
    tree_archive,
)


@pytest.fixture
def repo(tmp_path):
    """A bots repository: webex_bots/barnacles.py and a requirements.txt, two commits, an untracked file."""
    path = bots_repository(tmp_path / "bots", "# the bots' needs\nwebex_bot>=1.0.5\nrequests  # REST\n\n")
    git(path, "tag", "v1")
    (path / "webex_bots" / "barnacles.py").write_text("PING = 10\n")
    git(path, "commit", "--quiet", "-am", "Ping every 10 s")
    (path / "notes.txt").write_text("not committed\n")
    return path


def members(archive):
    with tarfile.open(archive) as tar:
        return sorted(member.name for member in tar.getmembers() if member.isfile())


def member_text(archive, name):
    with tarfile.open(archive) as tar:
        return tar.extractfile(name).read().decode()


def test_a_ref_is_resolved_to_its_commit_and_the_commit_alone_is_exported(repo, tmp_path):
    head = resolve_source({"repo": str(repo), "version": "main"}, "requirements.txt", cache=str(tmp_path / "cache"))
    assert head["kind"] == "git"
    assert head["commit"] == git(repo, "rev-parse", "main") == head["id"]
    assert head["short"] == head["commit"][:12]
    assert head["subject"] == "Ping every 10 s"
    # No .git, no untracked file.
    assert members(head["archive"]) == ["requirements.txt", "webex_bots/barnacles.py"]
    assert member_text(head["archive"], "webex_bots/barnacles.py") == "PING = 10\n"
    assert head["requirements"] == ["webex_bot>=1.0.5", "requests"]

    old = resolve_source({"repo": str(repo), "version": "v1"}, cache=str(tmp_path / "cache"))
    assert old["commit"] != head["commit"] and old["subject"] == "Ping every 20 s"
    assert member_text(old["archive"], "webex_bots/barnacles.py") == "PING = 20\n"
    assert old["requirements"] == []


def test_a_second_resolution_of_the_same_commit_reuses_its_export(repo, tmp_path):
    first = resolve_source({"repo": str(repo), "version": "main"}, cache=str(tmp_path / "cache"))
    written = (tmp_path / "cache" / "trees" / (first["commit"] + ".tar")).stat().st_mtime_ns
    again = resolve_source({"repo": str(repo)}, cache=str(tmp_path / "cache"))
    assert again["archive"] == first["archive"] and again["sha256"] == first["sha256"]
    assert (tmp_path / "cache" / "trees" / (first["commit"] + ".tar")).stat().st_mtime_ns == written


def test_a_remote_repository_is_mirrored_in_the_cache_and_fetched_once_per_run(repo, tmp_path, monkeypatch):
    from ansible_collections.botfleet.deploy.plugins.plugin_utils import source as source_module

    url = f"file://{repo}"
    monkeypatch.setattr(source_module, "run_id", lambda: "4242:100")
    source = resolve_source({"repo": url, "version": "v1"}, cache=str(tmp_path / "cache"))
    assert source["commit"] == git(repo, "rev-parse", "v1^{commit}")
    assert list((tmp_path / "cache" / "repos").glob("*.git"))
    before = resolve_source({"repo": url, "version": "main"}, cache=str(tmp_path / "cache"))["commit"]
    (repo / "webex_bots" / "barnacles.py").write_text("PING = 5\n")
    git(repo, "commit", "--quiet", "-am", "Ping every 5 s")
    # The other bots of the same run get the commit the first one resolved.
    assert resolve_source({"repo": url, "version": "main"}, cache=str(tmp_path / "cache"))["commit"] == before
    monkeypatch.setattr(source_module, "run_id", lambda: "4343:200")
    after = resolve_source({"repo": url, "version": "main"}, cache=str(tmp_path / "cache"))
    assert after["commit"] == git(repo, "rev-parse", "main") != before
    assert after["subject"] == "Ping every 5 s"


def test_a_directory_source_is_its_tree_without_git_and_its_id_its_digest(repo, tmp_path):
    first = resolve_source({"dir": str(repo)}, "requirements.txt", cache=str(tmp_path / "cache"))
    assert first["kind"] == "dir" and first["commit"] is None
    assert len(first["id"]) == 64 and first["short"] == first["id"][:12]
    # A directory has no commit: what is there is exported, untracked files too, .git never.
    assert members(first["archive"]) == ["notes.txt", "requirements.txt", "webex_bots/barnacles.py"]
    assert first["requirements"] == ["webex_bot>=1.0.5", "requests"]
    # The same files give the same id, whatever their times; another content another one.
    (repo / "notes.txt").touch()
    assert resolve_source({"dir": str(repo)}, cache=str(tmp_path / "cache"))["id"] == first["id"]
    (repo / "notes.txt").write_text("changed\n")
    assert resolve_source({"dir": str(repo)}, cache=str(tmp_path / "cache"))["id"] != first["id"]


def test_a_tree_digest_covers_the_executable_bit_and_links(tmp_path):
    (tmp_path / "run.py").write_text("print(1)\n")
    plain, _data = tree_archive(str(tmp_path))
    (tmp_path / "run.py").chmod(0o755)
    executable, _data = tree_archive(str(tmp_path))
    (tmp_path / "link").symlink_to("run.py")
    linked, _data = tree_archive(str(tmp_path))
    assert len({plain, executable, linked}) == 3


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({}, "either repo"),
        ({"repo": "/x", "dir": "/y"}, "not both"),
        ({"dir": "/y", "version": "main"}, "a dir source has none"),
        ({"repo": "/x", "branch": "main"}, "unknown keys branch"),
        ({"repo": ["/x"]}, "repo must be a string"),
        ("/x", "must be a mapping"),
    ],
)
def test_a_source_given_wrongly_is_a_sentence(spec, fragment, tmp_path):
    with pytest.raises(SourceError, match=fragment):
        resolve_source(spec, cache=str(tmp_path))


def test_an_unknown_ref_a_missing_directory_or_requirements_file_is_a_sentence(repo, tmp_path):
    with pytest.raises(SourceError, match="git rev-parse failed"):
        resolve_source({"repo": str(repo), "version": "no-such-tag"}, cache=str(tmp_path / "c"))
    with pytest.raises(SourceError, match="is not a directory on the controller"):
        resolve_source({"dir": str(tmp_path / "absent")}, cache=str(tmp_path / "c"))
    with pytest.raises(SourceError, match=r"botfleet_requirements_file reqs\.txt is not a file of the source"):
        resolve_source({"repo": str(repo)}, "reqs.txt", cache=str(tmp_path / "c"))


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("-r other.txt", "is an option"),
        ("--index-url https://example.invalid/simple", "is an option"),
        ("-e .", "is an option"),
        ("webex_bot>>1", "is not a requirement"),
    ],
)
def test_a_requirements_file_with_options_or_bad_lines_is_refused_by_line(line, fragment):
    with pytest.raises(SourceError, match=f"requirements.txt line 2 .*{fragment}"):
        requirement_lines(f"requests\n{line}\n", "requirements.txt")


def test_the_pins_win_over_the_sources_requirements():
    lines = ["webex_bot>=1.0.5", "Websockets<12", "requests[socks]>=2; python_version >= '3.8'"]
    assert merge_requirements(lines, {"webex-bot": "==1.3.1", "websockets": "==16.1"}) == [
        "requests[socks]>=2; python_version >= '3.8'"
    ]


def test_the_commit_range_between_two_releases_in_words():
    old = {"kind": "git", "id": "a" * 40, "commit": "a" * 40, "short": "a" * 12, "subject": "Ping every 20 s"}
    new = {"kind": "git", "id": "b" * 40, "commit": "b" * 40, "short": "b" * 12, "subject": "Ping every 10 s"}
    tree = {"kind": "dir", "id": "c" * 64, "commit": None, "short": "c" * 12, "subject": ""}
    moved = commit_range(old, new)
    assert moved["range"] == f"{'a' * 12}..{'b' * 12}"
    assert moved["text"] == f"code {'a' * 12} (Ping every 20 s) -> {'b' * 12} (Ping every 10 s)"
    assert commit_range(new, new)["text"] == f"code unchanged: {'b' * 12} (Ping every 10 s)"
    assert commit_range(None, tree) == {
        "from": None,
        "to": {"kind": "dir", "id": "c" * 64, "commit": None, "short": "c" * 12, "subject": ""},
        "range": None,
        "text": f"code no code of its own -> directory {'c' * 12}",
    }
