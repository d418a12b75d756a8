# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of a release's lock: resolve pins and requirements with uv for the target's Python.

``uv pip compile --generate-hashes`` resolves for a Python version and platform other than the
controller's own, so the lock names the wheels the target will install. The pins of packages in
``allow_conflicts`` are given to the resolver as overrides: the lock holds them instead of what
other packages declare (websockets 14.2 under webex_bot 1.0.8, which declares websockets==11.0.3),
and the target installs the lock as it is, without resolving again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from ansible_collections.botfleet.deploy.plugins.module_utils.installer import INDEX_ENV, redact, summarize
from ansible_collections.botfleet.deploy.plugins.module_utils.lock import LockError, format_lock, parse_lock
from ansible_collections.botfleet.deploy.plugins.plugin_utils.wheelhouse import WheelhouseError, wheelhouse_id

# manylinux levels uv 0.13 resolves for; a newer glibc reads wheels of the newest one.
MANYLINUX_MINORS = (17, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40)
MACHINES = ("x86_64", "aarch64")
COMPILE_TIMEOUT = 300


class LockFailed(Exception):
    """The lock could not be resolved; the message says why and what to change."""


def find_uv():
    """uv on the controller: next to the interpreter running Ansible, else on PATH."""
    return shutil.which("uv", path=os.path.dirname(sys.executable)) or shutil.which("uv")


def python_platform(interpreter):
    """uv's ``--python-platform`` for the target described by the release module's interpreter facts."""
    machine = (interpreter.get("machine") or "").lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    system = (interpreter.get("system") or "").lower()
    libc, libc_version = [*list(interpreter.get("libc") or []), "", ""][:2]
    if system != "linux" or machine not in MACHINES:
        raise LockFailed(
            f"the target runs {interpreter.get('system') or 'an unknown system'} on "
            f"{interpreter.get('machine') or 'an unknown machine'}; botfleet locks releases for Linux on "
            f"{' or '.join(MACHINES)}"
        )
    if libc != "glibc":
        return f"{machine}-unknown-linux-musl"
    try:
        major, minor = (int(part) for part in libc_version.split(".")[:2])
    except ValueError:
        return f"{machine}-unknown-linux-gnu"
    if major != 2 or minor < MANYLINUX_MINORS[0]:
        raise LockFailed(f"the target's glibc {libc_version} is older than manylinux_2_17, the oldest botfleet locks")
    level = max(m for m in MANYLINUX_MINORS if m <= minor)
    return f"{machine}-manylinux_2_{level}"


def compile_argv(uv, interpreter, sources, allow_sdists, overrides_file, requirements_file):
    """The ``uv pip compile`` command line of a lock (index URLs go through the environment)."""
    argv = [uv, "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--generate-hashes"]
    argv += ["--python-version", interpreter["version"], "--python-platform", python_platform(interpreter)]
    if not allow_sdists:
        # Without an opt-in, no build backend runs, neither here nor on the target.
        argv += ["--only-binary", ":all:"]
    if sources["offline"]:
        argv += ["--offline", "--no-index"]
    for link in sources["find_links"]:
        argv += ["--find-links", link]
    if overrides_file:
        argv += ["--override", overrides_file]
    return [*argv, requirements_file]


def compile_environment(sources):
    """The environment of the compile: the index URLs (secrets) here, never on the command line."""
    env = dict(os.environ, UV_NO_PROGRESS="1", UV_PYTHON_DOWNLOADS="never")
    if sources["offline"]:
        for name in INDEX_ENV:
            env.pop(name, None)
        env.update(UV_NO_CONFIG="1", UV_OFFLINE="1")
        return env
    if sources.get("index_url"):
        env["UV_INDEX_URL"] = sources["index_url"]
    if sources.get("extra_index_urls"):
        env["UV_EXTRA_INDEX_URL"] = " ".join(sources["extra_index_urls"])
    return env


def lock_cache_dir():
    """Where resolved locks are kept on the controller (BOTFLEET_LOCK_CACHE, else ~/.cache/botfleet/locks)."""
    return os.environ.get("BOTFLEET_LOCK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "botfleet", "locks"
    )


def lock_cache_key(uv, lines, forced, interpreter, sources, allow_sdists):
    """The key of a lock resolved offline from local wheelhouses, or None when it cannot be cached.

    Offline, uv's resolution is a function of its inputs and of the wheels' content alone, so a
    converged run reuses the lock instead of resolving again. From an index it never is: the index
    changes, and noticing that is the point of the lock.
    """
    links = sources["find_links"]
    if not sources["offline"] or not links or any("://" in link for link in links):
        return None
    try:
        uv_stat = os.stat(uv)
        wheelhouses = [wheelhouse_id(link) for link in links]
    except (OSError, WheelhouseError):
        return None
    document = {
        "uv": [os.path.realpath(uv), uv_stat.st_size, uv_stat.st_mtime_ns],
        "requirements": lines,
        "overrides": forced,
        "python": interpreter["version"],
        "platform": python_platform(interpreter),
        "sdists": sorted(allow_sdists),
        "wheelhouses": wheelhouses,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode("utf-8")).hexdigest()


def cached_lock(key):
    """The cached lock of ``key``, or None (a cache: anything unreadable is resolved again)."""
    try:
        with open(os.path.join(lock_cache_dir(), key + ".txt"), encoding="utf-8") as handle:
            return parse_lock(handle.read())
    except (OSError, LockError):
        return None


def cache_lock(key, entries):
    directory = lock_cache_dir()
    try:
        os.makedirs(directory, 0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(format_lock(entries))
        os.replace(tmp, os.path.join(directory, key + ".txt"))
    except OSError:
        pass


def resolve_lock(pins, requirements, allowed, interpreter, sources, allow_sdists=(), run=subprocess.run):
    """Resolve the lock of a release; returns its parsed entries.

    ``pins`` are {canonical name: Pin}; the pins of ``allowed`` packages become overrides.
    ``sources`` holds offline, find_links (controller paths), index_url, extra_index_urls.
    """
    uv = find_uv()
    if not uv:
        raise LockFailed(
            "a release's lock is resolved on the controller with uv, which is neither next to "
            f"{sys.executable} nor on PATH; install it there (pip install uv)"
        )
    missing = [link for link in sources["find_links"] if "://" not in link and not os.path.isdir(link)]
    if missing:
        raise LockFailed(
            f"the lock is resolved on the controller from {', '.join(missing)}, which is not a directory there; "
            "give the controller's copy of the wheelhouse (controller_find_links)"
        )
    lines = [pin.requirement for _name, pin in sorted(pins.items())] + list(requirements)
    forced = [pin.requirement for name, pin in sorted(pins.items()) if name in set(allowed)]
    key = lock_cache_key(uv, lines, forced, interpreter, sources, allow_sdists)
    entries = cached_lock(key) if key else None
    if entries is None:
        entries = compile_lock(uv, lines, forced, interpreter, sources, allow_sdists, run)
        if key:
            cache_lock(key, entries)
    return entries


def compile_lock(uv, lines, forced, interpreter, sources, allow_sdists, run):
    """Run ``uv pip compile`` and parse its lock."""
    workdir = tempfile.mkdtemp(prefix="botfleet-lock-")
    try:
        requirements_file = os.path.join(workdir, "requirements.in")
        with open(requirements_file, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        overrides_file = None
        if forced:
            overrides_file = os.path.join(workdir, "overrides.txt")
            with open(overrides_file, "w", encoding="utf-8") as handle:
                handle.write("\n".join(forced) + "\n")
        argv = compile_argv(uv, interpreter, sources, allow_sdists, overrides_file, requirements_file)
        try:
            proc = run(
                argv,
                env=compile_environment(sources),
                capture_output=True,
                text=True,
                check=False,
                timeout=COMPILE_TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:
            raise LockFailed(
                f"resolving the lock took more than {COMPILE_TIMEOUT}s; is the package index reachable?"
            ) from exc
        except OSError as exc:
            raise LockFailed(f"uv ({uv}) does not run on the controller: {exc.strerror}") from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if proc.returncode != 0:
        detail = redact(proc.stderr or proc.stdout).replace(workdir + "/", "")
        hint = ""
        if re.search(r"\bdepends? on\b", detail):
            hint = " (if this declared-requirement conflict is intended, list the package in allow_conflicts)"
        if "has no usable wheels" in detail or "only-binary" in detail or "no wheels" in detail:
            hint += " (a package with no wheel for the target can be built from source: add it to allow_sdists)"
        raise LockFailed(f"resolving the lock with uv failed: {summarize(detail)}{hint}")
    try:
        return parse_lock(proc.stdout)
    except LockError as exc:
        raise LockFailed(f"uv wrote a lock botfleet cannot read: {exc}") from exc


def restrict_hashes(entries, hashes):
    """Keep only the files of ``hashes`` ({name: [sha256:...]}) in the lock, as hash-checking pins mean.

    A package whose given hashes match none of its locked files is refused: its wheel is not the one
    the task expects.
    """
    restricted = {name: dict(entry) for name, entry in entries.items()}
    for name, digests in sorted((hashes or {}).items()):
        entry = restricted.get(name)
        if entry is None:
            raise LockFailed(f"hashes for {name}: {name} is not in the release's lock")
        wanted = [str(digest).lower() for digest in digests]
        kept = sorted(set(entry["hashes"]) & set(wanted))
        if not kept:
            raise LockFailed(
                f"hashes for {name}: none of {', '.join(wanted)} is a file of {name} {entry['version']} as locked "
                f"({', '.join(entry['hashes'])}); nothing was built: fix hashes, or the wheelhouse if a wheel was "
                "swapped"
            )
        entry["hashes"] = kept
    return restricted
