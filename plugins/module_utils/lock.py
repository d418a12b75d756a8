# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A release's lock: every distribution it installs, with its exact version and the sha256 of each allowed file.

The controller resolves it (plugin_utils/lock.py); the target installs exactly it, with hash checking
required, and keeps it in the release as ``lock.txt``. Its text is pip's requirements format with
``--hash`` options, one distribution per entry, sorted, so that the same resolution gives the same
bytes on every controller.

Standard library only: the target parses it too.
"""

from __future__ import annotations

import hashlib
import re

LOCK_FILE = "lock.txt"

_ENTRY = re.compile(r"(?P<name>[a-z0-9][a-z0-9._-]*)==(?P<version>\S+)")
_HASH = re.compile(r"--hash=(?P<digest>sha256:[0-9a-f]{64})")


class LockError(ValueError):
    """A lock text is not what botfleet writes; the message says which line."""


def parse_lock(text):
    """{name: {"version", "hashes"}} of a lock text (comments and line continuations allowed)."""
    entries = {}
    joined = re.sub(r"\\\s*\n", " ", text or "")
    for raw in joined.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, _sep, options = line.partition(" ")
        match = _ENTRY.fullmatch(requirement)
        hashes = _HASH.findall(options)
        leftover = _HASH.sub("", options).strip()
        if not match or not hashes or leftover:
            raise LockError(
                f"lock line {line[:120]!r} is not 'name==version --hash=sha256:<hex>': a lock pins every "
                "distribution to one version and the hashes of its files"
            )
        name = match.group("name")
        if name in entries:
            raise LockError(f"the lock names {name} twice")
        entries[name] = {"version": match.group("version"), "hashes": sorted(set(hashes))}
    return entries


def format_lock(entries):
    """The lock text of ``entries``: one distribution per entry, sorted, its hashes on continuation lines."""
    blocks = []
    for name in sorted(entries):
        lines = [f"{name}=={entries[name]['version']}"]
        lines += [f"    --hash={digest}" for digest in sorted(entries[name]["hashes"])]
        blocks.append(" \\\n".join(lines))
    return "\n".join(blocks) + "\n" if blocks else ""


def lock_digest(entries):
    """sha256 of the lock's canonical text: what the release id covers."""
    return hashlib.sha256(format_lock(entries).encode("utf-8")).hexdigest()


def lock_versions(entries):
    """{name: version} of a lock."""
    return {name: entry["version"] for name, entry in sorted(entries.items())}


def lock_changes(before, after):
    """The version changes from ``before`` to ``after`` ({name: version} each), transitive ones included.

    A list of {name, before, after}; ``before`` is None for an added distribution, ``after`` for a removed one.
    """
    return [
        {"name": name, "before": before.get(name), "after": after.get(name)}
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]


def versions_text(versions):
    """``name==version`` lines, as a diff shows a lock without its hashes."""
    return "".join(f"{name}=={version}\n" for name, version in sorted(versions.items()))
