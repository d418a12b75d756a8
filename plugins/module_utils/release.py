# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Target-side release store of one bot: build aside, commit, switch, roll back, prune.

Layout (docs/architecture.md, "On a VM"):

    <root>/<bot>/releases/<id>/venv/          immutable virtualenv
    <root>/<bot>/releases/<id>/<config file>  the bot's unit and non-secret environment
    <root>/<bot>/releases/<id>/release.json   what it holds
    <root>/<bot>/releases/<id>/.complete      written last: the release is whole
    <root>/<bot>/current -> releases/<id>     switched by renaming a new link
    <state_dir>/<bot>/state.json              current, previous, history

A release is the whole deployable unit, secrets aside: switching ``current``
switches code and configuration together, and the release's unit file is
installed into the unit directory in the same locked step.

Standard library only.
"""

from __future__ import annotations

import errno
import fcntl
import grp
import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
import time

from ansible_collections.botfleet.deploy.plugins.module_utils.lock import LOCK_FILE, lock_digest
from ansible_collections.botfleet.deploy.plugins.module_utils.validate import bot_name_problem
from ansible_collections.botfleet.deploy.plugins.module_utils.venv import format_timestamp, venv_python

RELEASE_ID = re.compile(r"[0-9a-f]{12}")
CONFIG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}")
# Names inside a release directory that config files must not take.
RESERVED_NAMES = ("venv", "release.json", "app", LOCK_FILE)
COMPLETE_MARKER = ".complete"
STAGING_PREFIX = ".staging-"
# Where the bot role copies source archives on a VM, under the root (roles/bot/tasks/build.yml).
SOURCES_DIR = ".sources"
HISTORY_LIMIT = 200
STATE_MODE = 0o640
DEFAULT_STATE_GROUP = "botfleet"
# A staging directory this old belongs to a build that died; younger ones may be in progress.
STALE_STAGING_SECONDS = 6 * 3600

# The platform fields tell the controller which wheels the lock may choose (plugin_utils/lock.py).
INTERPRETER_SCRIPT = (
    "import json, platform, sys; print(json.dumps({'version': platform.python_version(), "
    "'implementation': sys.implementation.name, 'executable': sys.executable, "
    "'machine': platform.machine(), 'system': platform.system(), 'libc': list(platform.libc_ver())}))"
)


class ReleaseError(Exception):
    """Something about a release is wrong; the message says what to do."""


class NoPreviousRelease(ReleaseError):
    """A rollback has nowhere to go: no previous release is recorded and none was named."""


class AlreadyRolledBack(ReleaseError):
    """The bot's last event is a rollback to what it runs: going to its previous release again is no rollback.

    ``entry`` is that history entry (release, from, at).
    """

    def __init__(self, msg, entry):
        super().__init__(msg)
        self.entry = entry


def check_bot_name(bot):
    problem = bot_name_problem(bot, "bot name")
    if problem is not None:
        raise ReleaseError(problem)


def check_release_id(release_id):
    if not isinstance(release_id, str) or not RELEASE_ID.fullmatch(release_id):
        raise ReleaseError(f"release id {release_id!r} is not a release id (12 hexadecimal digits)")


def check_config_names(config):
    for name, text in (config or {}).items():
        if not isinstance(name, str) or not CONFIG_NAME.fullmatch(name) or name in RESERVED_NAMES:
            raise ReleaseError(
                f"config file name {name!r} is not usable in a release: letters, digits, '.', '_', '@' and '-', "
                f"not starting with '.', and none of {', '.join(RESERVED_NAMES)}"
            )
        if not isinstance(text, str):
            raise ReleaseError(f"config file {name} must be given as text, not as a {type(text).__name__}")


def checked_source(source):
    """The bot's code (the release option source), checked, or None for a release of packages only."""
    if not source:
        return None
    missing = [key for key in ("id", "archive", "sha256", "kind") if not source.get(key)]
    if source.get("install") and not (source.get("project") or {}).get("name"):
        missing.append("project")
    if missing:
        raise ReleaseError(
            f"source lacks {', '.join(missing)}; give what the botfleet.deploy.source lookup returns, "
            "with archive set to the archive's path on this host"
        )
    return source


def source_identity(source):
    """(id, installed) of the bot's code as the release id covers it: (None, False) without code."""
    source = checked_source(source)
    return (source["id"], bool(source.get("install"))) if source else (None, False)


def _digest(document):
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def config_digests(config):
    """{file name: sha256 of its content} of a release's configuration files."""
    return {name: hashlib.sha256(config[name].encode("utf-8")).hexdigest() for name in sorted(config or {})}


def compute_venv_id(lock, interpreter, allow_sdists=(), installed_source=None):
    """Content address of a release's venv: its lock and its interpreter, what a canary proves for the fleet.

    ``lock`` is the parsed lock (module_utils/lock.py): every distribution with its exact version and
    the sha256 of its allowed files, so the same id means the same bits. Packages allowed to build
    from source are part of it too, since a build from source is not bit for bit the file locked.
    ``installed_source`` is the id of the bot's code when it is installed into the venv
    (botfleet_source_install): then each commit has a venv of its own.
    """
    document = {
        "lock": lock_digest(lock),
        "python": "{}-{}".format(interpreter["implementation"], interpreter["version"]),
    }
    if allow_sdists:
        document["sdists"] = sorted(allow_sdists)
    if installed_source:
        document["installed_source"] = installed_source
    return _digest(document)[:12]


def compute_release_id(lock, interpreter, config=None, allow_sdists=(), source_id=None, installed=False):
    """Content address of a release: its venv (lock and interpreter), its configuration files and its code.

    Without configuration and code it equals the venv id. The same inputs give the same id
    on every host; a bot's own configuration (its name in the unit) makes its id its own, and
    ``source_id`` (the commit, or the digest of a directory's tree) makes each commit a release.
    ``installed``: the code is installed into the venv, so it is part of the venv id too.
    """
    venv_id = compute_venv_id(lock, interpreter, allow_sdists, source_id if installed else None)
    if not config and not source_id:
        return venv_id
    document = {"venv": venv_id, "config": config_digests(config)}
    if source_id:
        document["source"] = source_id
    return _digest(document)[:12]


def compute_canary_id(venv_id, source_id=None):
    """What a canary proves for the rest of the fleet: its venv and, for a bot run from source, its code.

    Bots of one source share it across their own configurations; without code it is the venv id.
    """
    if not source_id:
        return venv_id
    return _digest({"venv": venv_id, "source": source_id})[:12]


def unpack_source(archive, destination, sha256):
    """Unpack a source tree exported on the controller (plugin_utils/source.py) into ``destination``.

    The archive must be the one the controller exported (its sha256), and hold only files,
    directories and links that stay inside the tree.
    """
    digest = hashlib.sha256()
    with open(archive, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != sha256:
        raise ReleaseError(
            f"the source archive {archive} is not the one the controller exported (sha256 {digest.hexdigest()[:12]}, "
            f"wanted {sha256[:12]}); run the playbook again to copy it anew"
        )
    os.mkdir(destination, 0o755)
    root = os.path.realpath(destination)
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            target = os.path.realpath(os.path.join(root, member.name))
            inside = target == root or target.startswith(root + os.sep)
            if not inside or not (member.isfile() or member.isdir() or member.issym()):
                raise ReleaseError(f"the source archive holds {member.name!r}, which botfleet does not unpack")
            if member.issym():
                link = os.path.realpath(os.path.join(os.path.dirname(target), member.linkname))
                if not (link == root or link.startswith(root + os.sep)):
                    raise ReleaseError(f"the source's link {member.name} points outside the tree")
        for member in members:
            path = os.path.join(destination, member.name)
            if member.isdir():
                os.makedirs(path, 0o755, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
            if member.issym():
                os.symlink(member.linkname, path)
                continue
            with tar.extractfile(member) as src, open(path, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.chmod(path, 0o755 if member.mode & 0o100 else 0o644)


def clone_venv(source, destination):
    """Copy a built release's venv for a release with the same venv id (only its code differs).

    Files are hard links, since releases never change, except those relocate_venv rewrites
    (pyvenv.cfg and bin/), which are copies of their own. Returns the number of files.
    """
    own = {os.path.join(source, "pyvenv.cfg")}
    bindir = os.path.join(source, "bin")
    own.update(os.path.join(bindir, name) for name in os.listdir(bindir))

    def link_or_copy(src, dst):
        if src in own:
            return shutil.copy2(src, dst)
        os.link(src, dst)
        return dst

    shutil.copytree(source, destination, symlinks=True, copy_function=link_or_copy)
    relocate_venv(destination, source, destination)


def write_text_atomic(path, text, mode=0o644, gid=None):
    """Write a file so that readers see the old or the new content, never a part; ``gid`` its group."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if gid is not None:
            os.chown(tmp, -1, gid)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json_atomic(path, data, mode=0o644, gid=None):
    """Write JSON so that readers see the old or the new file, never a part."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n", mode, gid)


def group_id(name):
    """The id of group ``name``, or None when this host has no such group."""
    try:
        return grp.getgrnam(name).gr_gid if name else None
    except KeyError:
        return None


def read_text(path):
    """A file's text, or None when it does not exist."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


# What state.json holds, and the type each key must have.
STATE_SHAPE = {
    "bot": (str,),
    "current": (str, type(None)),
    "previous": (str, type(None)),
    "history": (list,),
    "verdicts": (list,),
    "canary": (dict, type(None)),
    "last_probe": (dict, type(None)),
}


def state_shape_problems(state):
    """Why a parsed state.json is not botfleet's state, in words (empty when it is)."""
    if not isinstance(state, dict):
        return [f"it holds a JSON {type(state).__name__}, not an object"]
    problems = []
    for key, types in STATE_SHAPE.items():
        if key in state and not isinstance(state[key], types):
            problems.append(f"{key!r} is a {type(state[key]).__name__}")
    for key in ("current", "previous"):
        if isinstance(state.get(key), str) and not RELEASE_ID.fullmatch(state[key]):
            problems.append(f"{key!r} is {state[key]!r}, not a release id")
    return problems


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

    # state.json holds verdicts that quote failures: readable by root and the group of the bots' user only,
    # and scrubbed of the secrets the release module is given (its redact option).
    state_mode = STATE_MODE
    state_group = DEFAULT_STATE_GROUP

    @staticmethod
    def scrub(value):
        return value

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

    def problems(self, release_id):
        """What is missing or damaged in releases/<id>, in words; empty when the release is whole."""
        path = self.path(release_id)
        if not os.path.isdir(path):
            return [f"{path} does not exist"]
        try:
            record = self.read_release(release_id)
        except (OSError, ValueError):
            return [f"{path}/release.json is missing or not valid JSON"]
        problems = []
        if not os.path.isfile(os.path.join(path, COMPLETE_MARKER)):
            problems.append(f"{path}/{COMPLETE_MARKER} is missing (the build did not finish)")
        if not os.access(venv_python(os.path.join(path, "venv")), os.X_OK):
            problems.append(f"{path}/venv/bin/python is missing")
        locked = record.get("lock") if isinstance(record, dict) else None
        if locked:
            text = read_text(os.path.join(path, LOCK_FILE))
            if text is None:
                problems.append(f"{path}/{LOCK_FILE} is missing")
            elif hashlib.sha256(text.encode("utf-8")).hexdigest() != locked:
                problems.append(f"{path}/{LOCK_FILE} was changed after the build")
        if isinstance(record, dict) and record.get("source") and not os.path.isdir(os.path.join(path, "app")):
            problems.append(f"{path}/app is missing")
        wanted = record.get("config") if isinstance(record, dict) else None
        for name, digest in sorted((wanted or {}).items()):
            text = read_text(os.path.join(path, name))
            if text is None:
                problems.append(f"{path}/{name} is missing")
            elif config_digests({name: text})[name] != digest:
                problems.append(f"{path}/{name} was changed after the build")
        return problems

    def is_complete(self, release_id):
        return not self.problems(release_id)

    def read_release(self, release_id):
        with open(os.path.join(self.path(release_id), "release.json")) as handle:
            return json.load(handle)

    def installed_unit(self, release_id):
        """(unit name, text) of the release's unit file, or (None, None) for a release without one."""
        try:
            name = self.read_release(release_id).get("unit")
        except (OSError, ValueError):
            return None, None
        if not name:
            return None, None
        return name, read_text(os.path.join(self.path(release_id), name))

    def code(self, release_id):
        """``<short sha> <subject>`` of the code a release holds (release.json's source), or None."""
        try:
            source = self.read_release(release_id).get("source")
        except (OSError, ValueError, AttributeError):
            return None
        if not isinstance(source, dict) or not source.get("short"):
            return None
        return " ".join(part for part in (source["short"], source.get("subject") or "") if part)

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
            if RELEASE_ID.fullmatch(name) and self.is_complete(name):
                try:
                    created = self.read_release(name).get("created", "")
                except (OSError, ValueError):
                    created = ""
                found.append((name, created))
        return sorted(found, key=lambda item: (item[1], item[0]))

    def read_state(self):
        """state.json, checked: a damaged file is an error that says how to repair it, never a traceback."""
        repair = (
            f"move it aside (mv {self.state_file} {self.state_file}.bad) and run the playbook again: "
            "botfleet starts a new history from the current link"
        )
        try:
            with open(self.state_file) as handle:
                state = json.load(handle)
        except FileNotFoundError:
            state = {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise ReleaseError(f"{self.state_file} is not valid JSON ({exc}); {repair}") from exc
        except OSError as exc:
            raise ReleaseError(f"{self.state_file} cannot be read ({exc.strerror}); {repair}") from exc
        problems = state_shape_problems(state)
        if problems:
            raise ReleaseError(f"{self.state_file} is not a botfleet state file ({'; '.join(problems)}); {repair}")
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

    def write_state(self, state, event=None, repaired=()):
        self.ensure_dirs()
        now = format_timestamp(time.time())
        events = [{"event": "repaired", "reason": reason, "at": now} for reason in repaired]
        if event is not None:
            events.append(dict(event, at=now))
        if events:
            state["history"] = [*(state.get("history") or []), *events][-HISTORY_LIMIT:]
        write_json_atomic(self.state_file, self.scrub(state), self.state_mode, group_id(self.state_group))

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
            # Damaged or half-made (an interrupted commit, a deleted venv): not a release, replaced whole.
            if release_id in (self.current(), self.read_state().get("previous")):
                # Never remove what current points at: the bot would lose its interpreter.
                aside = os.path.join(self.releases_dir, f"{STAGING_PREFIX}damaged-{release_id}-{os.getpid()}")
                os.rename(final, aside)
                shutil.rmtree(aside, ignore_errors=True)
            else:
                shutil.rmtree(final)
        relocate_venv(os.path.join(staging, "venv"), os.path.join(staging, "venv"), os.path.join(final, "venv"))
        write_json_atomic(os.path.join(staging, "release.json"), record)
        # Written last, after the venv was checked and the record written: the release is whole.
        write_text_atomic(os.path.join(staging, COMPLETE_MARKER), release_id + "\n")
        os.chmod(staging, 0o755)  # noqa: S103 - the bot's user must read its release
        os.rename(staging, final)
        return True

    def reconcile(self, state):
        """Make ``state`` agree with the current link, which decides what the bot runs.

        A run that died between switching the link and writing the state leaves them apart;
        the link wins and the release state.json named becomes the previous one.
        Returns a sentence for each repair (empty when they agreed).
        """
        current = self.current()
        if state.get("current") == current:
            return []
        repair = (
            f"state.json said the current release is {state.get('current') or 'none'}, "
            f"but current points at {current or 'nothing'}"
        )
        if state.get("current") is not None:
            state["previous"] = state["current"]
        state["current"] = current
        return [repair]

    def install_unit(self, release_id, unit_dir):
        """Install the release's unit file into ``unit_dir``; True when its content changed."""
        name, text = self.installed_unit(release_id)
        if not name:
            return False
        target = os.path.join(unit_dir, name)
        if read_text(target) == text:
            return False
        write_text_atomic(target, text, 0o644)
        return True

    def rollback_target(self, state, release_id=None, naming="release_id"):
        """The release a rollback of this bot switches to: ``release_id``, or the previous one.

        ``state`` is read_state()'s, reconciled. ``naming`` tells the user how to name a release
        (an option, a command-line flag). Raises AlreadyRolledBack when the bot was just rolled
        back to what it runs and no release is named, NoPreviousRelease when there is nowhere to go.
        """
        last = (state.get("history") or [{}])[-1]
        if not release_id and last.get("event") == "rolled_back" and last.get("release") == self.current():
            raise AlreadyRolledBack(
                f"{self.bot} was already rolled back from {last.get('from')} to {last['release']} at "
                f"{last.get('at')}; name the release to switch to ({naming})",
                last,
            )
        target = release_id or state.get("previous")
        if not target:
            built = ", ".join(entry[0] for entry in self.releases()) or "none"
            raise NoPreviousRelease(
                f"{self.bot} has no previous release recorded; name one with {naming} (built releases: {built})"
            )
        check_release_id(target)
        return target

    def activate(self, release_id, event, unit_dir, details=None):
        """Switch to a whole release: link, unit file and state together, or none of them.

        The caller holds the lock. Every check is made here, under it, before anything
        changes; a failure after the switch puts the link and the unit file back.
        ``details`` go into the history entry of the switch (who made it, with what).
        Returns {previous, switched, unit_changed, repaired}.
        """
        problems = self.problems(release_id)
        if problems:
            raise ReleaseError(
                f"release {release_id} of {self.bot} is not whole: {'; '.join(problems)}; "
                "nothing was switched (a build of the same pins makes it again)"
            )
        state = self.read_state()
        repaired = self.reconcile(state)
        current = state["current"]
        name, _text = self.installed_unit(release_id)
        unit_path = os.path.join(unit_dir, name) if name else None
        unit_before = read_text(unit_path) if unit_path else None
        switched = current != release_id
        if switched:
            self.switch(release_id)
        unit_changed = False
        try:
            unit_changed = self.install_unit(release_id, unit_dir)
            if switched:
                state.update(current=release_id, previous=current)
            if switched or repaired:
                event_entry = (
                    dict(details or {}, event=event, release=release_id, **{"from": current}) if switched else None
                )
                code = self.code(release_id) if switched else None
                if code:
                    # The bot's own code in its history: which commit it runs since this switch.
                    event_entry["commit"] = code
                self.write_state(state, event_entry, repaired)
        except (OSError, ReleaseError) as exc:
            undone = self._undo(switched, current, unit_path if unit_changed else None, unit_before)
            reason = str(exc)
            if isinstance(exc, OSError) and exc.strerror:
                reason = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
            raise ReleaseError(f"switching {self.bot} to release {release_id} failed ({reason}); {undone}") from exc
        return {"previous": current, "switched": switched, "unit_changed": unit_changed, "repaired": repaired}

    def _undo(self, switched, previous, unit_path, unit_before):
        """Put the link (and the unit file) back after a failed activation; say what the bot has now."""
        try:
            if switched and previous:
                self.switch(previous)
            elif switched:
                os.unlink(self.current_link)
            if unit_path:
                if unit_before is None:
                    os.unlink(unit_path)
                else:
                    write_text_atomic(unit_path, unit_before, 0o644)
        except OSError as exc:
            return (
                f"putting the previous release back failed too ({exc.strerror}); the next botfleet run "
                "repairs state.json from the current link"
            )
        if previous:
            return f"nothing was switched: current points at {previous} again"
        return "nothing was switched"

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


def source_archives_to_prune(root, now=None, grace=STALE_STAGING_SECONDS):
    """The source archives of ``<root>/.sources`` no release of any bot under ``root`` holds, oldest first.

    An archive is named ``<source id>.tar`` (plugin_utils/source.py), and each release records
    its source's id in release.json. Those written or used within ``grace`` seconds are kept: a
    build of another bot may be about to unpack it (the build touches the archive it uses).
    """
    sources = os.path.join(root, SOURCES_DIR)
    if not os.path.isdir(sources):
        return []
    needed = set()
    for bot in os.listdir(root):
        releases = os.path.join(root, bot, "releases")
        if bot == SOURCES_DIR or not os.path.isdir(releases):
            continue
        for release_id in os.listdir(releases):
            try:
                with open(os.path.join(releases, release_id, "release.json"), encoding="utf-8") as handle:
                    source = json.load(handle).get("source")
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(source, dict) and source.get("id"):
                needed.add(f"{source['id']}.tar")
    now = time.time() if now is None else now
    found = []
    for name in os.listdir(sources):
        path = os.path.join(sources, name)
        if name.endswith(".tar") and name not in needed and os.path.isfile(path):
            modified = os.stat(path).st_mtime
            if now - modified > grace:
                found.append((modified, name))
    return [name for _modified, name in sorted(found)]


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


def verify_unit(run_command, unit_file, current_dir, release_dir):
    """systemd-analyze verify of a release's unit before the release exists; None or the complaint.

    The unit names its files through ``current``, which does not point at a release being
    built: the copy verified names the release's own directory instead.
    """
    with open(unit_file, encoding="utf-8") as handle:
        text = handle.read()
    workdir = tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}verify-", dir=os.path.dirname(release_dir))
    try:
        copy = os.path.join(workdir, os.path.basename(unit_file))
        with open(copy, "w", encoding="utf-8") as handle:
            handle.write(text.replace(current_dir.rstrip("/") + "/", release_dir.rstrip("/") + "/"))
        rc, out, err = run_command(["systemd-analyze", "verify", "--man=no", "--", copy])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if rc == 0:
        return None
    lines = [line.replace(workdir + "/", "") for line in (err or out or "").strip().splitlines() if line.strip()]
    return "; ".join(lines[-3:]) if lines else f"exit code {rc}"


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
