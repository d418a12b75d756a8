# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of a bot's own code: resolve its source and export its tree once per run.

A source is a git repository and a ref, resolved here to a commit, or a directory on the
controller. Its tree is exported as a tar archive (no ``.git``; from git, no untracked file
unless ``untracked`` asks for the working tree) into a cache keyed by what it holds, the commit
or the tree's digest, so that several bots of one source share one export, and the VM gets one
copy of it (roles/bot/tasks/build.yml). The release module unpacks it as the release's ``app/``
and its id covers the commit or digest; an archive is always named ``<id>.tar``, which is how
the release module's prune knows which copies a kept release still needs.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time

from ansible_collections.botfleet.deploy.plugins.plugin_utils.pins import requirement_problem

GIT_TIMEOUT = 300
SOURCE_KEYS = ("repo", "version", "dir", "untracked")
# What a Python project's pyproject.toml must hold for botfleet_source_install.
PYPROJECT = "pyproject.toml"
DAY = 86400
# A requirements file line botfleet cannot put into a lock: options, editables, includes.
_OPTION = re.compile(r"^-")


class SourceError(Exception):
    """The source cannot be used; the message says what to change."""


def source_cache_dir():
    """Where exported trees are kept on the controller (BOTFLEET_SOURCE_CACHE, else ~/.cache/botfleet/sources)."""
    return os.environ.get("BOTFLEET_SOURCE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "botfleet", "sources"
    )


def check_spec(spec):
    """The source mapping, checked: exactly one of repo (with an optional version) or dir."""
    if not isinstance(spec, dict):
        raise SourceError(f"botfleet_source must be a mapping (repo and version, or dir), not a {type(spec).__name__}")
    unknown = sorted(set(spec) - set(SOURCE_KEYS))
    if unknown:
        raise SourceError(f"botfleet_source has unknown keys {', '.join(unknown)}; it takes {', '.join(SOURCE_KEYS)}")
    if bool(spec.get("repo")) == bool(spec.get("dir")):
        raise SourceError("botfleet_source needs either repo (a git repository, with version) or dir, not both")
    if spec.get("dir") and spec.get("version"):
        raise SourceError("botfleet_source: version is a git ref; a dir source has none")
    for key in ("repo", "version", "dir"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise SourceError(f"botfleet_source: {key} must be a string")
    if spec.get("untracked") is not None and not isinstance(spec["untracked"], bool):
        raise SourceError("botfleet_source: untracked must be true or false")
    if spec.get("dir") and spec.get("untracked"):
        raise SourceError(
            "botfleet_source: untracked is for a repo source (a git working tree); a dir source is exported whole"
        )
    return spec


def _git(args, cwd=None, run=subprocess.run):
    try:
        proc = run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            check=False,
            timeout=GIT_TIMEOUT,
            env=dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C"),
        )
    except FileNotFoundError as exc:
        raise SourceError("git is not installed on the controller; a repo source needs it") from exc
    except subprocess.TimeoutExpired as exc:
        raise SourceError(f"git {args[0]} took more than {GIT_TIMEOUT}s; is the repository reachable?") from exc
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SourceError(f"git {args[0]} failed: {detail[-1] if detail else f'exit code {proc.returncode}'}")
    return proc.stdout


def _locked(path):
    """An exclusive flock next to ``path``: parallel forks export or fetch one source once."""
    os.makedirs(os.path.dirname(path), 0o700, exist_ok=True)
    # Closed by the caller, which holds the lock until then.
    handle = open(path + ".lock", "a")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def run_id():
    """The ansible-playbook run this lookup belongs to: its process (the workers' parent) and its start time."""
    parent = os.getppid()
    try:
        with open(f"/proc/{parent}/stat", encoding="ascii") as handle:
            started = handle.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        started = "?"
    return f"{parent}:{started}"


def git_dir(repo, cache):
    """A local git directory holding ``repo``: the repository itself, or a mirror of a remote one in the cache.

    A remote repository is fetched once per run, whatever the number of bots that use it.
    """
    if os.path.isdir(repo):
        return repo
    mirror = os.path.join(cache, "repos", hashlib.sha256(repo.encode("utf-8")).hexdigest()[:16] + ".git")
    marker = mirror + ".fetched"
    handle = _locked(mirror)
    try:
        this_run = run_id()
        if not os.path.isdir(mirror):
            _git(["clone", "--mirror", "--quiet", repo, mirror])
        elif _read(marker) != this_run:
            _git(["fetch", "--prune", "--quiet", "origin", "+refs/*:refs/*"], cwd=mirror)
        _write_atomic(marker, this_run.encode("ascii"))
    finally:
        handle.close()
    return mirror


def _read(path):
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read()
    except OSError:
        return None


def _write_atomic(path, data):
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _export(archive, data):
    """Write ``archive`` unless it is there; either way it was used now (prune_source_cache keeps it)."""
    if os.path.isfile(archive):
        os.utime(archive)
        return
    os.makedirs(os.path.dirname(archive), 0o700, exist_ok=True)
    _write_atomic(archive, data() if callable(data) else data)


def _read_member(archive, name):
    """The text of file ``name`` in a tar archive, or None."""
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if os.path.normpath(member.name) == os.path.normpath(name) and member.isfile():
                return tar.extractfile(member).read().decode("utf-8")
    return None


def resolve_git(repo, version, cache):
    """{kind, repo, commit, short, subject, id, archive} of a ref of a git repository."""
    directory = git_dir(repo, cache)
    ref = version or "HEAD"
    commit = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], cwd=directory)
    commit = commit.decode("ascii").strip()
    subject = _git(["log", "-1", "--format=%s", commit], cwd=directory).decode("utf-8", "replace").strip()
    archive = os.path.join(cache, "trees", commit + ".tar")
    # git archive exports the commit's tree only: no .git, no untracked or ignored file.
    _export(archive, lambda: _git(["archive", "--format=tar", commit], cwd=directory))
    return {
        "kind": "git",
        "repo": repo,
        "ref": ref,
        "commit": commit,
        "short": commit[:12],
        "subject": subject,
        "id": commit,
        "archive": archive,
    }


def resolve_worktree(repo, version, cache):
    """{kind, repo, commit, short, subject, id, archive} of a git working tree with its untracked files.

    What git would commit from it: the tracked files as they are on disk and the untracked ones
    that no .gitignore excludes; ``.git`` and ignored files never. Its id is the tree's digest
    (like a directory's), its commit the one checked out.
    """
    if not os.path.isdir(repo):
        raise SourceError(
            f"botfleet_source: untracked needs a git working tree on the controller; {repo} is not a directory"
        )
    inside = _git(["rev-parse", "--is-inside-work-tree"], cwd=repo).decode("ascii").strip()
    if inside != "true":
        raise SourceError(f"botfleet_source: untracked needs a git working tree; {repo} is a bare repository")
    top = _git(["rev-parse", "--show-toplevel"], cwd=repo).decode("utf-8").strip()
    head = _git(["rev-parse", "--verify", "HEAD^{commit}"], cwd=top).decode("ascii").strip()
    if version:
        wanted = _git(["rev-parse", "--verify", "--end-of-options", f"{version}^{{commit}}"], cwd=top)
        if wanted.decode("ascii").strip() != head:
            raise SourceError(
                f"botfleet_source: untracked exports the working tree of {repo}, which has {head[:12]} checked out, "
                f"not {version}; check {version} out there, or leave version out"
            )
    listed = _git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=top)
    names = sorted({name for name in listed.decode("utf-8", "surrogateescape").split("\0") if name})
    digest, data = tree_archive(top, names)
    subject = _git(["log", "-1", "--format=%s", head], cwd=top).decode("utf-8", "replace").strip()
    archive = os.path.join(cache, "trees", digest + ".tar")
    _export(archive, data)
    return {
        "kind": "git",
        "repo": repo,
        "ref": version or "HEAD",
        "commit": head,
        "short": head[:12],
        "subject": f"{subject} (working tree with untracked files)",
        "id": digest,
        "archive": archive,
    }


def _tree_files(directory, names=None):
    """(relative path, absolute path) of the files and links of a directory, sorted; ``.git`` left out.

    ``names`` (relative paths, as git lists them) restricts it to those that are there.
    """
    if names is not None:
        # A tracked file deleted on disk is not there; a submodule (a directory) is not part of the tree.
        paths = ((name, os.path.join(directory, name)) for name in names)
        return sorted(
            (name, path)
            for name, path in paths
            if os.path.islink(path) or (os.path.exists(path) and not os.path.isdir(path))
        )
    found = []
    for parent, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(name for name in dirnames if name != ".git")
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(parent, d))]):
            path = os.path.join(parent, name)
            found.append((os.path.relpath(path, directory), path))
    return sorted(found)


def tree_archive(directory, names=None):
    """(sha256 of the tree, tar bytes) of a directory: the same files, modes and links give the same bytes.

    ``names`` restricts the tree to those relative paths (a git working tree's, resolve_worktree).
    """
    digest = hashlib.sha256()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for relative, path in _tree_files(directory, names):
            info = tarfile.TarInfo(relative)
            info.mtime = 0
            info.uname = info.gname = "root"
            if os.path.islink(path):
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, os.readlink(path), 0o777
                digest.update(f"L {relative}\0{info.linkname}\0".encode())
                tar.addfile(info)
                continue
            if not os.path.isfile(path):
                continue
            with open(path, "rb") as handle:
                data = handle.read()
            info.mode = 0o755 if os.stat(path).st_mode & 0o100 else 0o644
            info.size = len(data)
            digest.update(f"F {relative}\0{info.mode:o}\0".encode() + hashlib.sha256(data).digest())
            tar.addfile(info, io.BytesIO(data))
    return digest.hexdigest(), buffer.getvalue()


def resolve_dir(directory, cache):
    """{kind, dir, id, short, archive} of a directory on the controller; its id is the tree's digest."""
    if not os.path.isdir(directory):
        raise SourceError(f"botfleet_source dir {directory} is not a directory on the controller")
    digest, data = tree_archive(directory)
    archive = os.path.join(cache, "trees", digest + ".tar")
    _export(archive, data)
    return {
        "kind": "dir",
        "dir": directory,
        "commit": None,
        "short": digest[:12],
        "subject": "",
        "id": digest,
        "archive": archive,
    }


def requirement_lines(text, path):
    """The requirements of a requirements file, one per line, comments and blank lines left out.

    A lock cannot hold options (``-r``, ``-e``, ``--index-url``): such a line is refused by name.
    """
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if _OPTION.match(line):
            raise SourceError(
                f"{path} line {number} ({line[:60]!r}) is an option; botfleet locks requirements only: "
                "list packages, and give indexes through botfleet_index_url or botfleet_wheelhouse"
            )
        problem = requirement_problem(line)
        if problem:
            raise SourceError(f"{path} line {number} ({line[:60]!r}) is not a requirement: {problem}")
        lines.append(line)
    return lines


def merge_requirements(lines, pins):
    """The source's requirements without those of pinned packages: the pins win."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pinned = {canonicalize_name(name) for name in pins}
    return [line for line in lines if canonicalize_name(Requirement(line).name) not in pinned]


def python_project(archive, label):
    """{name, version, dependencies} of the Python project at the top of an exported tree (its pyproject.toml).

    For botfleet_source_install: the project is built and installed into the release's venv, its
    dependencies join the lock. Dependencies the build backend computes (``dynamic``) cannot be
    locked before the build, so they are refused.
    """
    import tomllib

    text = _read_member(archive, PYPROJECT)
    if text is None:
        raise SourceError(
            f"botfleet_source_install is true, but the source ({label}) has no {PYPROJECT} at its top, so it is not "
            "a Python project that can be installed; set botfleet_source_install to false to run it from app/"
        )
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(f"{PYPROJECT} of the source ({label}) is not valid TOML: {exc}") from exc
    project = document.get("project")
    if not isinstance(project, dict) or not isinstance(project.get("name"), str) or not project["name"]:
        raise SourceError(
            f"{PYPROJECT} of the source ({label}) has no [project] table with a name; botfleet installs a project "
            "whose metadata it can read (PEP 621)"
        )
    if "dependencies" in (project.get("dynamic") or []):
        raise SourceError(
            f"{PYPROJECT} of the source ({label}) declares its dependencies dynamic, so they cannot be locked before "
            "the build; list them in [project] dependencies, or in botfleet_requirements_file"
        )
    dependencies = project.get("dependencies") or []
    if not isinstance(dependencies, list) or not all(isinstance(line, str) for line in dependencies):
        raise SourceError(f"{PYPROJECT} of the source ({label}): [project] dependencies must be a list of strings")
    lines = requirement_lines("\n".join(dependencies), f"{PYPROJECT} [project] dependencies")
    return {"name": project["name"], "version": str(project.get("version") or ""), "dependencies": lines}


def resolve_source(spec, requirements_file="", cache=None, install=False):
    """Resolve and export a source; returns what the release module and the reports need.

    {kind, id, commit, short, subject, archive (controller path), sha256 (of the archive),
    requirements (lines of requirements_file, or [])}; with ``install`` (botfleet_source_install)
    also install (true) and project {name, version}, whose dependencies join requirements.
    """
    check_spec(spec)
    cache = cache or source_cache_dir()
    if spec.get("repo") and spec.get("untracked"):
        source = resolve_worktree(spec["repo"], spec.get("version"), cache)
    elif spec.get("repo"):
        source = resolve_git(spec["repo"], spec.get("version"), cache)
    else:
        source = resolve_dir(os.path.abspath(os.path.expanduser(spec["dir"])), cache)
    with open(source["archive"], "rb") as handle:
        source["sha256"] = hashlib.sha256(handle.read()).hexdigest()
    source["requirements"] = []
    label = f"{source['kind']} {source['short']}"
    if requirements_file:
        text = _read_member(source["archive"], requirements_file)
        if text is None:
            raise SourceError(f"botfleet_requirements_file {requirements_file} is not a file of the source ({label})")
        source["requirements"] = requirement_lines(text, requirements_file)
    if install:
        project = python_project(source["archive"], label)
        source["install"] = True
        source["project"] = {"name": project["name"], "version": project["version"]}
        source["requirements"] += [line for line in project["dependencies"] if line not in source["requirements"]]
    return source


def prune_source_cache(cache, max_age_days, now=None, dry_run=False):
    """Remove from the controller's cache what no run used for ``max_age_days``: exported trees and mirrors.

    Each resolution touches the archive it uses and a mirror's ``.fetched`` marker, so a commit
    still deployed by the runs stays. Returns the names removed (``trees/<id>.tar``,
    ``repos/<name>.git``), or that would be with ``dry_run``. ``max_age_days`` 0 prunes nothing.
    """
    if max_age_days <= 0:
        return []
    limit = (time.time() if now is None else now) - max_age_days * DAY
    removed = []
    trees = os.path.join(cache, "trees")
    for name in sorted(os.listdir(trees)) if os.path.isdir(trees) else []:
        path = os.path.join(trees, name)
        if name.endswith(".tar") and os.path.isfile(path) and os.stat(path).st_mtime < limit:
            removed.append(f"trees/{name}")
            if not dry_run:
                os.unlink(path)
    repos = os.path.join(cache, "repos")
    for name in sorted(os.listdir(repos)) if os.path.isdir(repos) else []:
        mirror = os.path.join(repos, name)
        if not name.endswith(".git") or not os.path.isdir(mirror):
            continue
        handle = _locked(mirror)
        try:
            marker = mirror + ".fetched"
            used = os.stat(marker).st_mtime if os.path.exists(marker) else os.stat(mirror).st_mtime
            if used >= limit:
                continue
            removed.append(f"repos/{name}")
            if not dry_run:
                shutil.rmtree(mirror)
                if os.path.exists(marker):
                    os.unlink(marker)
        finally:
            handle.close()
    return removed


def describe_code(source):
    """``3f9c2a61b0d4 (Ping every 10 s)`` of a source record; ``no code of its own`` without one."""
    if not source:
        return "no code of its own"
    subject = f" ({source['subject']})" if source.get("subject") else ""
    kind = "" if source.get("kind") == "git" else "directory "
    return f"{kind}{source.get('short') or str(source.get('id') or '?')[:12]}{subject}"


def code_text(source):
    """The code line of a release in a diff (empty for a release without code of its own)."""
    return f"code: {describe_code(source)}\n" if source else ""


def commit_range(before, after):
    """{from, to, range, text} between the code of the running release and the target's.

    ``range`` is ``a..b`` (what ``git log`` takes) when both are commits, else None.
    """
    fields = ("kind", "id", "commit", "short", "subject")
    before = {key: before.get(key) for key in fields} if before else None
    after = {key: after.get(key) for key in fields} if after else None
    both_git = bool(before and after and before.get("commit") and after.get("commit"))
    span = f"{before['short']}..{after['short']}" if both_git else None
    if before and after and before.get("id") == after.get("id"):
        text = f"code unchanged: {describe_code(after)}"
    else:
        text = f"code {describe_code(before)} -> {describe_code(after)}"
    return {"from": before, "to": after, "range": span, "text": text}
