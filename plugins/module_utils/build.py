# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who builds a release, and how the finished release is sealed.

Installing a venv and importing its modules run package code. As root that code could read the
bots' secrets and change the host, so the release module builds and smoke-imports as an
unprivileged build user (created by the bot_host role, ``botfleet-build``) in a staging directory
that user owns; then the release is sealed: root-owned, nothing writable but by root, no setuid
bit, before anything reads it as root or it becomes a release.

Standard library only.
"""

from __future__ import annotations

import os
import pwd
import stat

# Build files that stay in the staging directory only while the build user works there.
BUILD_HOME = ".build-home"


class BuildUserError(Exception):
    """The build user cannot be used; the message says what to do."""


class BuildUser:
    """Runs commands as an unprivileged user, or as the module's own user when that is not root."""

    def __init__(self, name, setpriv=None, euid=None):
        self.name = name or None
        self.uid = self.gid = None
        euid = os.geteuid() if euid is None else euid
        if euid != 0 or not self.name:
            # Not root: the module's own user is already unprivileged; no name: the operator chose root.
            self.name = None
            return
        try:
            entry = pwd.getpwnam(self.name)
        except KeyError as exc:
            raise BuildUserError(
                f"the build user {self.name} does not exist on this host; the bot_host role creates it "
                "(botfleet_build_user), or set build_user to the unprivileged user that builds releases"
            ) from exc
        if entry.pw_uid == 0:
            raise BuildUserError(f"the build user {self.name} is root; give an unprivileged user")
        if not setpriv:
            raise BuildUserError(
                "setpriv (util-linux) is not on this host's PATH, so releases cannot be built as "
                f"{self.name}; install util-linux"
            )
        self.uid, self.gid, self.setpriv = entry.pw_uid, entry.pw_gid, setpriv

    @property
    def switches(self):
        return self.name is not None

    def argv(self, argv):
        if not self.switches:
            return list(argv)
        return [
            self.setpriv,
            f"--reuid={self.uid}",
            f"--regid={self.gid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--",
            *argv,
        ]

    @staticmethod
    def environment(staging):
        """HOME, TMPDIR and caches inside the staging directory: nothing of root's is read or written."""
        home = os.path.join(staging, BUILD_HOME)
        return {
            "HOME": home,
            "TMPDIR": home,
            "UV_CACHE_DIR": os.path.join(home, "uv-cache"),
            "PIP_CACHE_DIR": os.path.join(home, "pip-cache"),
            "XDG_CACHE_HOME": home,
            "XDG_CONFIG_HOME": home,
        }

    def prepare(self, staging):
        """Give the (root-made, 0700) staging directory and its build home to the build user."""
        home = os.path.join(staging, BUILD_HOME)
        os.mkdir(home, 0o700)
        if self.switches:
            for path in (staging, home):
                os.chown(path, self.uid, self.gid)
        return home

    def give(self, path):
        """Give a tree root unpacked inside the build home to the build user, who builds in it."""
        if not self.switches:
            return
        for directory, dirnames, filenames in os.walk(path):
            for name in [None, *dirnames, *filenames]:
                os.lchown(directory if name is None else os.path.join(directory, name), self.uid, self.gid)

    def run_command(self, module, staging):
        """A run_command that runs as the build user with the build environment."""
        env = self.environment(staging)

        def run(argv, **kwargs):
            environ = dict(env, **(kwargs.pop("environ_update", None) or {}))
            return module.run_command(self.argv(argv), environ_update=environ, **kwargs)

        return run


def seal(path):
    """Make a finished build root's and read-only to everyone else; returns the paths that were writable.

    Owner root (when running as root), no write bit for group or others, no setuid or setgid bit.
    Symbolic links are owned anew but never followed.
    """
    as_root = os.geteuid() == 0
    loosened = []
    for directory, dirnames, filenames in os.walk(path):
        for name in [None, *dirnames, *filenames]:
            target = directory if name is None else os.path.join(directory, name)
            info = os.lstat(target)
            if as_root and (info.st_uid, info.st_gid) != (0, 0):
                os.lchown(target, 0, 0)
            if stat.S_ISLNK(info.st_mode):
                continue
            mode = stat.S_IMODE(info.st_mode)
            sealed = mode & ~(stat.S_IWGRP | stat.S_IWOTH | stat.S_ISUID | stat.S_ISGID)
            if sealed != mode:
                if mode & stat.S_IWOTH:
                    loosened.append(os.path.relpath(target, path))
                os.chmod(target, sealed)
    return sorted(loosened)


def writable_by_others(path):
    """Paths under ``path`` that someone else than their owner can write (empty when sealed)."""
    found = []
    for directory, dirnames, filenames in os.walk(path):
        for name in [*dirnames, *filenames]:
            target = os.path.join(directory, name)
            info = os.lstat(target)
            if not stat.S_ISLNK(info.st_mode) and info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                found.append(os.path.relpath(target, path))
    return sorted(found)
