"""The bot's source on the controller: a git ref resolved to a commit, a directory's tree, their export."""

from __future__ import annotations

import os
import tarfile

import pytest
from conftest import bots_repository, git

from ansible_collections.botfleet.deploy.plugins.plugin_utils.source import (
    DAY,
    SourceError,
    commit_range,
    merge_requirements,
    prune_source_cache,
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
    archive = tmp_path / "cache" / "trees" / (first["commit"] + ".tar")
    os.utime(archive, (1000, 1000))
    written = archive.stat().st_ino
    again = resolve_source({"repo": str(repo)}, cache=str(tmp_path / "cache"))
    assert again["archive"] == first["archive"] and again["sha256"] == first["sha256"]
    # Not exported again (the same file), but marked as used now, so the cache's prune keeps it.
    assert archive.stat().st_ino == written and archive.stat().st_mtime > 1000


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


def test_untracked_exports_the_working_tree_as_git_would_commit_it(repo, tmp_path):
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "debug.log").write_text("ignored\n")
    (repo / "webex_bots" / "barnacles.py").write_text("PING = 5\n")
    head = git(repo, "rev-parse", "HEAD")
    worktree = resolve_source({"repo": str(repo), "untracked": True}, cache=str(tmp_path / "cache"))
    # Tracked files as they are on disk, untracked ones not ignored; never .git, never an ignored file.
    assert members(worktree["archive"]) == [".gitignore", "notes.txt", "requirements.txt", "webex_bots/barnacles.py"]
    assert member_text(worktree["archive"], "webex_bots/barnacles.py") == "PING = 5\n"
    assert worktree["kind"] == "git" and worktree["commit"] == head and worktree["short"] == head[:12]
    assert len(worktree["id"]) == 64 and worktree["archive"].endswith(worktree["id"] + ".tar")
    assert worktree["subject"] == "Ping every 10 s (working tree with untracked files)"
    # Without untracked, the same repository is its commit alone.
    committed = resolve_source({"repo": str(repo)}, cache=str(tmp_path / "cache"))
    assert committed["id"] == head and "notes.txt" not in members(committed["archive"])
    # Another untracked file is another tree, so another release.
    (repo / "extra.py").write_text("X = 1\n")
    assert resolve_source({"repo": str(repo), "untracked": True}, cache=str(tmp_path / "c"))["id"] != worktree["id"]
    # A link to a directory is exported as the link; a tracked file deleted on disk is not there.
    (repo / "bots").symlink_to("webex_bots")
    (repo / "requirements.txt").unlink()
    linked = resolve_source({"repo": str(repo), "untracked": True}, cache=str(tmp_path / "c"))
    with tarfile.open(linked["archive"]) as tar:
        names = {member.name: member for member in tar.getmembers()}
    assert names["bots"].issym() and names["bots"].linkname == "webex_bots"
    assert "requirements.txt" not in names and "webex_bots/barnacles.py" in names
    # version must be what is checked out there: the working tree is of that commit only.
    assert resolve_source({"repo": str(repo), "version": "main", "untracked": True}, cache=str(tmp_path / "c"))
    with pytest.raises(SourceError, match=f"which has {head[:12]} checked out, not v1; check v1 out there"):
        resolve_source({"repo": str(repo), "version": "v1", "untracked": True}, cache=str(tmp_path / "c"))


def test_untracked_needs_a_working_tree_and_a_repo_source(repo, tmp_path):
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(repo), str(bare))
    with pytest.raises(SourceError, match=r"untracked needs a git working tree; .* is a bare repository"):
        resolve_source({"repo": str(bare), "untracked": True}, cache=str(tmp_path / "c"))
    with pytest.raises(SourceError, match="untracked needs a git working tree on the controller"):
        resolve_source({"repo": f"file://{repo}", "untracked": True}, cache=str(tmp_path / "c"))
    with pytest.raises(SourceError, match="untracked is for a repo source"):
        resolve_source({"dir": str(repo), "untracked": True}, cache=str(tmp_path / "c"))
    with pytest.raises(SourceError, match="untracked must be true or false"):
        resolve_source({"repo": str(repo), "untracked": "yes"}, cache=str(tmp_path / "c"))


PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "barnacles-bots"
version = "2.4.0"
dependencies = ["webex_bot>=1.0.5", "requests"]
"""


def test_an_installed_source_is_a_python_project_whose_dependencies_join_the_requirements(repo, tmp_path):
    (repo / "pyproject.toml").write_text(PYPROJECT)
    git(repo, "add", "pyproject.toml")
    git(repo, "commit", "--quiet", "-m", "A Python project")
    source = resolve_source({"repo": str(repo)}, "requirements.txt", cache=str(tmp_path / "c"), install=True)
    assert source["install"] is True
    assert source["project"] == {"name": "barnacles-bots", "version": "2.4.0"}
    # requirements.txt has both already: each requirement once.
    assert source["requirements"] == ["webex_bot>=1.0.5", "requests"]
    alone = resolve_source({"repo": str(repo)}, cache=str(tmp_path / "c"), install=True)
    assert alone["requirements"] == ["webex_bot>=1.0.5", "requests"]
    assert "install" not in resolve_source({"repo": str(repo)}, cache=str(tmp_path / "c"))


@pytest.mark.parametrize(
    ("pyproject", "fragment"),
    [
        (
            None,
            r"botfleet_source_install is true, but the source \(git [0-9a-f]{12}\) has no pyproject.toml at its top",
        ),
        ("[project\n", "is not valid TOML"),
        ("[tool.black]\nline-length = 120\n", "has no \\[project\\] table with a name"),
        ('[project]\nname = "b"\ndynamic = ["dependencies"]\n', "declares its dependencies dynamic"),
        (
            '[project]\nname = "b"\ndependencies = ["-e ."]\n',
            r"pyproject.toml \[project\] dependencies line 1 .* option",
        ),
    ],
)
def test_an_installed_source_that_is_no_usable_project_is_a_sentence(repo, tmp_path, pyproject, fragment):
    if pyproject is not None:
        (repo / "pyproject.toml").write_text(pyproject)
        git(repo, "add", "pyproject.toml")
        git(repo, "commit", "--quiet", "-m", "pyproject")
    with pytest.raises(SourceError, match=fragment):
        resolve_source({"repo": str(repo)}, cache=str(tmp_path / "c"), install=True)


def test_the_cache_prune_removes_trees_and_mirrors_no_run_used_for_its_days(repo, tmp_path, monkeypatch):
    from ansible_collections.botfleet.deploy.plugins.plugin_utils import source as source_module

    cache = tmp_path / "cache"
    monkeypatch.setattr(source_module, "run_id", lambda: "4242:100")
    old = resolve_source({"repo": f"file://{repo}", "version": "v1"}, cache=str(cache))
    new = resolve_source({"repo": str(repo), "version": "main"}, cache=str(cache))
    [mirror] = (cache / "repos").glob("*.git")
    now = 100 * DAY
    for path in (old["archive"], str(mirror) + ".fetched"):
        os.utime(path, (now - 31 * DAY, now - 31 * DAY))
    os.utime(new["archive"], (now - 29 * DAY, now - 29 * DAY))
    planned = prune_source_cache(str(cache), 30, now=now, dry_run=True)
    assert planned == [f"trees/{old['commit']}.tar", f"repos/{mirror.name}"]
    assert os.path.exists(old["archive"]) and mirror.is_dir()
    assert prune_source_cache(str(cache), 0, now=now) == []
    assert prune_source_cache(str(cache), 30, now=now) == planned
    assert not os.path.exists(old["archive"]) and not mirror.exists()
    assert os.path.exists(new["archive"])
    assert prune_source_cache(str(cache), 30, now=now) == []
    # A pruned commit is exported (and a pruned mirror cloned) again by the next run that needs it.
    again = resolve_source({"repo": f"file://{repo}", "version": "v1"}, cache=str(cache))
    assert again["commit"] == old["commit"] and os.path.exists(again["archive"])
    assert prune_source_cache(str(tmp_path / "absent"), 30) == []
