# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Target-side release store of one bot: build aside, commit, switch, roll back, prune.

Layout (design.md, "Host layout"):

    <root>/<bot>/releases/<id>/venv/          immutable virtualenv
    <root>/<bot>/releases/<id>/release.json   what it holds
    <root>/<bot>/current -> releases/<id>     switched by renaming a new link
    <state_dir>/<bot>/state.json              current, previous, history

Standard library only.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import time

from ansible_collections.botfleet.deploy.plugins.module_utils.venv import format_timestamp, venv_python

BOT_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,38}$")
RELEASE_ID = re.compile(r"^[0-9a-f]{12}$")
STAGING_PREFIX = ".staging-"
HISTORY_LIMIT = 200
# A staging directory this old belongs to a build that died; younger ones may be in progress.
STALE_STAGING_SECONDS = 6 * 3600

INTERPRETER_SCRIPT = (
    "import json, platform, sys; print(json.dumps({'version': platform.python_version(), "
    "'implementation': sys.implementation.name, 'executable': sys.executable}))"
)


class ReleaseError(Exception):
    """Something about a release is wrong; the message says what to do."""


def check_bot_name(bot):
    if not BOT_NAME.match(bot or ""):
        raise ReleaseError(
            f"bot name {bot!r} is not usable in paths and unit names: use lower-case letters, digits, '-' and '_', "
            "starting with a letter, at most 39 characters"
        )


def check_release_id(release_id):
    if not RELEASE_ID.match(release_id or ""):
        raise ReleaseError(f"release id {release_id!r} is not a release id (12 hexadecimal digits)")


def compute_release_id(pins, requirements, interpreter):
    """Content address of a release: the same inputs give the same id on every host.

    ``pins`` and ``requirements`` arrive normalized by the controller (canonical
    names, canonical specifier text), so spelling differences do not change the id.
    """
    document = {
        "pins": {name: pins[name] for name in sorted(pins)},
        "requirements": sorted(requirements),
        "python": "{}-{}".format(interpreter["implementation"], interpreter["version"]),
    }
    digest = hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    return digest.hexdigest()[:12]


def write_json_atomic(path, data, mode=0o644):
    """Write JSON so that readers see the old or the new file, never a part."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def relocate_venv(venv, old_prefix, new_prefix):
    """Rewrite the venv's absolute paths after it moves from a staging directory.

    Interpreters find their prefix at run time, but console scripts carry the
    staging path in their shebang and activate scripts and pyvenv.cfg in their
    text. Only files in bin/ and pyvenv.cfg hold it.
    """
    old = old_prefix.encode("utf-8")
    new = new_prefix.encode("utf-8")
    candidates = [os.path.join(venv, "pyvenv.cfg")]
    bindir = os.path.join(venv, "bin")
    candidates += [os.path.join(bindir, name) for name in sorted(os.listdir(bindir))]
    rewritten = []
    for path in candidates:
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        with open(path, "rb") as handle:
            content = handle.read()
        if old not in content or b"\0" in content[:1024]:
            continue
        mode = os.stat(path).st_mode
        with open(path, "wb") as handle:
            handle.write(content.replace(old, new))
        os.chmod(path, mode)
        rewritten.append(os.path.basename(path))
    return rewritten


class BotLock:
    """An exclusive flock on the bot's state directory, with a timeout."""

    def __init__(self, path, timeout):
        self.path = path
        self.timeout = timeout
        self.handle = None

    def __enter__(self):
        self.handle = open(self.path, "a")
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    self.handle.close()
                    raise ReleaseError(
                        f"another botfleet run holds {self.path} for more than {self.timeout}s; "
                        "wait for it or raise lock_timeout"
                    ) from exc
                time.sleep(0.2)

    def __exit__(self, *exc_info):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


class ReleaseStore:
    """The releases, the current link and the state file of one bot on this host."""

    def __init__(self, root, state_dir, bot, lock_timeout=300):
        check_bot_name(bot)
        self.bot = bot
        self.bot_dir = os.path.join(root, bot)
        self.releases_dir = os.path.join(self.bot_dir, "releases")
        self.current_link = os.path.join(self.bot_dir, "current")
        self.state_dir = os.path.join(state_dir, bot)
        self.state_file = os.path.join(self.state_dir, "state.json")
        self.lock_timeout = lock_timeout

    # -- reading ------------------------------------------------------------------------------------------------

    def path(self, release_id):
        return os.path.join(self.releases_dir, release_id)

    def is_complete(self, release_id):
        return os.path.isfile(os.path.join(self.path(release_id), "release.json"))

    def read_release(self, release_id):
        with open(os.path.join(self.path(release_id), "release.json")) as handle:
            return json.load(handle)

    def current(self):
        """The release id ``current`` points at, or None."""
        try:
            target = os.readlink(self.current_link)
        except OSError:
            return None
        return os.path.basename(target.rstrip("/"))

    def releases(self):
        """Complete releases, oldest first, as (id, created) pairs."""
        found = []
        if not os.path.isdir(self.releases_dir):
            return found
        for name in os.listdir(self.releases_dir):
            if RELEASE_ID.match(name) and self.is_complete(name):
                try:
                    created = self.read_release(name).get("created", "")
                except (OSError, ValueError):
                    created = ""
                found.append((name, created))
        return sorted(found, key=lambda item: (item[1], item[0]))

    def read_state(self):
        try:
            with open(self.state_file) as handle:
                state = json.load(handle)
        except FileNotFoundError:
            state = {}
        except ValueError as exc:
            raise ReleaseError(f"{self.state_file} is not valid JSON ({exc}); fix or remove it") from exc
        state.setdefault("bot", self.bot)
        state.setdefault("current", None)
        state.setdefault("previous", None)
        state.setdefault("history", [])
        return state

    # -- writing ------------------------------------------------------------------------------------------------

    def lock(self):
        self.ensure_dirs()
        return BotLock(os.path.join(self.state_dir, ".lock"), self.lock_timeout)

    def ensure_dirs(self):
        for path, mode in ((self.releases_dir, 0o755), (self.state_dir, 0o755)):
            if not os.path.isdir(path):
                os.makedirs(path, mode)

    def write_state(self, state, event=None):
        self.ensure_dirs()
        if event is not None:
            event = dict(event, at=format_timestamp(time.time()))
            state["history"] = [*(state.get("history") or [])[-(HISTORY_LIMIT - 1) :], event]
        write_json_atomic(self.state_file, state)

    def new_staging(self, release_id):
        self.ensure_dirs()
        return tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{release_id}-", dir=self.releases_dir)

    def commit(self, staging, release_id, record):
        """Move a checked staging directory into place as releases/<id>.

        Returns False when another run committed the same release first (the
        staging copy is then removed: both are built from the same inputs).
        """
        final = self.path(release_id)
        if self.is_complete(release_id):
            shutil.rmtree(staging, ignore_errors=True)
            return False
        if os.path.lexists(final):
            # A directory without release.json is a leftover of an interrupted commit: not a release.
            shutil.rmtree(final)
        relocate_venv(os.path.join(staging, "venv"), os.path.join(staging, "venv"), os.path.join(final, "venv"))
        write_json_atomic(os.path.join(staging, "release.json"), record)
        os.chmod(staging, 0o755)  # noqa: S103 - the bot's user must read its release
        os.rename(staging, final)
        return True

    def switch(self, release_id):
        """Point ``current`` at releases/<id> atomically: a new link renamed over the old one."""
        tmp = os.path.join(self.bot_dir, f".current-{os.getpid()}-{int(time.time() * 1000)}")
        os.symlink(os.path.join("releases", release_id), tmp)
        try:
            os.replace(tmp, self.current_link)
        except BaseException:
            os.unlink(tmp)
            raise

    def stale_staging(self, now=None):
        now = time.time() if now is None else now
        stale = []
        if os.path.isdir(self.releases_dir):
            for name in os.listdir(self.releases_dir):
                path = os.path.join(self.releases_dir, name)
                if name.startswith(STAGING_PREFIX) and now - os.lstat(path).st_mtime > STALE_STAGING_SECONDS:
                    stale.append(name)
        return sorted(stale)


def prune_plan(releases, keep, protected):
    """Which release ids to remove: all but the ``keep`` newest, never a protected one.

    ``releases`` is a list of (id, created) pairs, oldest first.
    """
    ordered = [release_id for release_id, _created in releases]
    keep_ids = set(ordered[-keep:]) if keep > 0 else set()
    keep_ids.update(p for p in protected if p)
    return [release_id for release_id in ordered if release_id not in keep_ids]


def interpreter_info(run_command, python):
    rc, out, err = run_command([python, "-I", "-c", INTERPRETER_SCRIPT])
    if rc != 0:
        raise ReleaseError(f"python {python!r} does not run on this host (rc={rc}): {err.strip()}")
    return json.loads(out)


def smoke_test(run_command, venv, modules, timeout=60):
    """Import the bot's modules with the release's interpreter; return None or the error text."""
    if not modules:
        return None
    script = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    argv = ["timeout", str(timeout), venv_python(venv), "-I", "-c", script, *list(modules)]
    rc, out, err = run_command(argv)
    if rc == 0:
        return None
    lines = [line for line in (err or out or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"exit code {rc}"
