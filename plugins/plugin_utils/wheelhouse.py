# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The identity of a wheelhouse on the controller: what its wheels hold, not what they are called."""

from __future__ import annotations

import hashlib
import os


class WheelhouseError(Exception):
    """The wheelhouse cannot be read; the message says which file and why."""


def file_sha256(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def wheelhouse_id(directory):
    """sha256 over the sorted ``<sha256>  <file name>`` lines of the directory's wheels.

    A wheel rebuilt or swapped under the same name changes the id, so bot_host pushes it; the
    release's hash check then decides whether it is the file the lock names.
    """
    try:
        names = sorted(name for name in os.listdir(directory) if name.endswith(".whl"))
    except OSError as exc:
        raise WheelhouseError(f"wheelhouse {directory} cannot be read: {exc.strerror}") from exc
    lines = []
    for name in names:
        path = os.path.join(directory, name)
        try:
            lines.append(f"{file_sha256(path)}  {name}\n")
        except OSError as exc:
            raise WheelhouseError(f"wheel {path} cannot be read: {exc.strerror}") from exc
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
