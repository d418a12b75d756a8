# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of a bot's own code: resolve its source and export its tree once per run.

A source is a git repository and a ref, resolved here to a commit, or a directory on the
controller. Its tree is exported as a tar archive (no ``.git``; from git, no untracked file)
into a cache keyed by what it holds, the commit or the tree's digest, so that several bots of
one source share one export, and the VM gets one copy of it (roles/bot/tasks/build.yml).
The release module unpacks it as the release's ``app/`` and its id covers the commit or digest.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import re
import subprocess
import tarfile
import tempfile

GIT_TIMEOUT = 300
SOURCE_KEYS = ("repo", "version", "dir")
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
    for key in SOURCE_KEYS:
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise SourceError(f"botfleet_source: {key} must be a string")
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
    if not os.path.isfile(archive):
        os.makedirs(os.path.dirname(archive), 0o700, exist_ok=True)
        # git archive exports the commit's tree only: no .git, no untracked or ignored file.
        _write_atomic(archive, _git(["archive", "--format=tar", commit], cwd=directory))
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


def _tree_files(directory):
    """(relative path, absolute path) of the files and links of a directory, sorted; ``.git`` left out."""
    found = []
    for parent, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(name for name in dirnames if name != ".git")
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(parent, d))]):
            path = os.path.join(parent, name)
            found.append((os.path.relpath(path, directory), path))
    return sorted(found)


def tree_archive(directory):
    """(sha256 of the tree, tar bytes) of a directory: the same files, modes and links give the same bytes."""
    digest = hashlib.sha256()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for relative, path in _tree_files(directory):
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
    if not os.path.isfile(archive):
        os.makedirs(os.path.dirname(archive), 0o700, exist_ok=True)
        _write_atomic(archive, data)
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
    # Imported here: ansible-core depends on packaging, and the controller's plugins only run there.
    from packaging.requirements import InvalidRequirement, Requirement

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
        try:
            Requirement(line)
        except InvalidRequirement as exc:
            raise SourceError(f"{path} line {number} ({line[:60]!r}) is not a requirement: {exc}") from exc
        lines.append(line)
    return lines


def merge_requirements(lines, pins):
    """The source's requirements without those of pinned packages: the pins win."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pinned = {canonicalize_name(name) for name in pins}
    return [line for line in lines if canonicalize_name(Requirement(line).name) not in pinned]


def resolve_source(spec, requirements_file="", cache=None):
    """Resolve and export a source; returns what the release module and the reports need.

    {kind, id, commit, short, subject, archive (controller path), sha256 (of the archive),
    requirements (lines of requirements_file, or [])}
    """
    check_spec(spec)
    cache = cache or source_cache_dir()
    if spec.get("repo"):
        source = resolve_git(spec["repo"], spec.get("version"), cache)
    else:
        source = resolve_dir(os.path.abspath(os.path.expanduser(spec["dir"])), cache)
    with open(source["archive"], "rb") as handle:
        source["sha256"] = hashlib.sha256(handle.read()).hexdigest()
    source["requirements"] = []
    if requirements_file:
        text = _read_member(source["archive"], requirements_file)
        if text is None:
            raise SourceError(
                f"botfleet_requirements_file {requirements_file} is not a file of the source "
                f"({source['kind']} {source['short']})"
            )
        source["requirements"] = requirement_lines(text, requirements_file)
    return source


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
