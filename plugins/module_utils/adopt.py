# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Take over a bot a team started by hand (``nohup .venv/bin/python webex_bots/<bot>.py &``).

Target side, standard library only. Reading: find the one process that matches, and read what it
really runs from /proc (command line, working directory, interpreter and its venv, log file, user,
the names of its environment variables) and from disk (the distributions of that venv, the commit
of the checkout it runs from and the checkout's local changes, read from .git without git).
Changing: hand the bot over from its process to its unit with the smallest gap, and give it back
to a process started exactly as before when its adoption fails.

Environment values never leave this module, except those of the keys a caller names as plain
(non-secret) settings; secret values are written only into the bot's 0600 environment file and into
the 0600 record of the hand-started process that a failed adoption restarts it from.
"""

from __future__ import annotations

import email.parser
import glob
import hashlib
import json
import os
import pwd
import signal
import struct
import subprocess
import sys
import time

from ansible_collections.botfleet.deploy.plugins.module_utils.release import write_text_atomic
from ansible_collections.botfleet.deploy.plugins.module_utils.validate import env_file_value
from ansible_collections.botfleet.deploy.plugins.module_utils.venv import process_start_time

# Distributions every venv has that the bot does not run on.
TOOLING = frozenset(("pip", "setuptools", "wheel", "distribute"))


class AdoptError(Exception):
    """Adoption cannot go on; the message says what was found and what to change."""


def _read(path, mode="r"):
    with open(path, mode) as handle:
        return handle.read()


def command_lines(proc="/proc", exclude=()):
    """{pid: argv} of every process with a command line (kernel threads have none)."""
    found = {}
    for name in os.listdir(proc):
        if not name.isdigit() or int(name) in exclude:
            continue
        try:
            raw = _read(os.path.join(proc, name, "cmdline"), "rb")
        except OSError:
            continue
        argv = [part.decode("utf-8", "replace") for part in raw.split(b"\0")]
        while argv and argv[-1] == "":
            argv.pop()
        if argv:
            found[int(name)] = argv
    return found


def own_lineage(proc="/proc", pid=None):
    """This process and its ancestors: their command lines may quote the match (ansible, sh -c)."""
    pid = os.getpid() if pid is None else pid
    lineage = set()
    while pid > 1 and pid not in lineage:
        lineage.add(pid)
        try:
            status = _read(os.path.join(proc, str(pid), "status"))
        except OSError:
            break
        pid = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:")), 0)
    return lineage


def matching(processes, match):
    """The processes whose command line (argv joined by spaces) contains ``match``, sorted by pid."""
    return sorted((pid, argv) for pid, argv in processes.items() if match in " ".join(argv))


def the_one(processes, match):
    """The one (pid, argv) matching ``match``; AdoptError naming what was seen otherwise."""
    found = matching(processes, match)
    if len(found) == 1:
        return found[0]
    if not found:
        raise AdoptError(
            f"no running process matches {match!r}; set botfleet_adopt_match to a part of the command line "
            "the bot was started with (ps -eo pid,args shows them)"
        )
    seen = "; ".join(f"pid {pid}: {' '.join(argv)}" for pid, argv in found)
    raise AdoptError(
        f"{len(found)} processes match {match!r} ({seen}); make botfleet_adopt_match specific to one, "
        "or stop the copies that should not run"
    )


def parse_environ(raw):
    """{key: value} of a /proc/PID/environ (NUL-separated KEY=VALUE)."""
    environ = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep and key:
            environ[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return environ


def _ids(status):
    """(real uid, real gid) from /proc/PID/status."""
    uid = gid = None
    for line in status.splitlines():
        if line.startswith("Uid:"):
            uid = int(line.split()[1])
        elif line.startswith("Gid:"):
            gid = int(line.split()[1])
    return uid, gid


# Reads the files of /proc/PID that only the process's owner (or root with CAP_SYS_PTRACE) may read.
PRIVATE_READER = """
import json, os, sys
base = sys.argv[1]
out = {"cwd": os.readlink(os.path.join(base, "cwd"))}
with open(os.path.join(base, "environ"), "rb") as handle:
    out["environ"] = handle.read().hex()
for fd in ("1", "2"):
    try:
        out[fd] = os.readlink(os.path.join(base, "fd", fd))
    except OSError:
        out[fd] = None
print(json.dumps(out))
"""


def _private_files(base, uid, gid):
    """cwd, environ and the output files of a process: {cwd, environ (bytes), 1, 2}.

    Root in a container usually lacks CAP_SYS_PTRACE, which reading another user's cwd, environ and
    fds needs; those are then read by a child running as the process's own user.
    """
    try:
        out = {"cwd": os.readlink(os.path.join(base, "cwd")), "environ": _read(os.path.join(base, "environ"), "rb")}
        for fd in ("1", "2"):
            try:
                out[fd] = os.readlink(os.path.join(base, "fd", fd))
            except OSError:
                out[fd] = None
        return out
    except PermissionError:
        if uid == os.getuid():
            raise
    child = subprocess.run(
        [sys.executable, "-I", "-c", PRIVATE_READER, base],
        capture_output=True,
        user=uid,
        group=gid,
        extra_groups=[],
        check=False,
        cwd="/",
    )
    if child.returncode != 0:
        raise OSError(f"reading {base} as uid {uid} failed: {child.stderr.decode('utf-8', 'replace').strip()}")
    out = json.loads(child.stdout)
    out["environ"] = bytes.fromhex(out["environ"])
    return out


def read_process(pid, proc="/proc"):
    """What the process runs: argv, cwd, user, log file, environment, start time."""
    base = os.path.join(proc, str(pid))
    try:
        argv = [part.decode("utf-8", "replace") for part in _read(os.path.join(base, "cmdline"), "rb").split(b"\0")]
        while argv and argv[-1] == "":
            argv.pop()
        uid, gid = _ids(_read(os.path.join(base, "status")))
        private = _private_files(base, uid, gid)
        cwd = private["cwd"]
        environ = parse_environ(private["environ"])
        outputs = {"stdout": private["1"], "stderr": private["2"]}
        started = process_start_time(pid, proc)
    except (OSError, ValueError) as exc:
        raise AdoptError(f"process {pid} could not be read ({exc}); it may have exited") from exc
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    return {
        "pid": pid,
        "argv": argv,
        "cwd": cwd,
        "environ": environ,
        "uid": uid,
        "gid": gid,
        "user": user,
        "log": outputs["stdout"],
        "stderr": outputs["stderr"],
        "started": started,
    }


def interpreter_venv(argv0, cwd):
    """The venv of the interpreter the process was started with, or None (not resolving its symlinks)."""
    path = os.path.normpath(os.path.join(cwd, argv0))
    bindir = os.path.dirname(path)
    venv = os.path.dirname(bindir)
    if os.path.basename(bindir) == "bin" and os.path.isfile(os.path.join(venv, "pyvenv.cfg")):
        return venv
    return None


def venv_distributions(venv):
    """{name: version} of the distributions installed in ``venv``, from their METADATA, and the newest change.

    Read from the files, not by running the venv's interpreter: a shared venv in use is left alone.
    """
    found = {}
    newest = 0.0
    parser = email.parser.HeaderParser()
    for info in sorted(glob.glob(os.path.join(venv, "lib", "python3*", "site-packages", "*.dist-info"))):
        try:
            meta = parser.parsestr(_read(os.path.join(info, "METADATA")))
            newest = max(newest, os.stat(info).st_mtime)
        except OSError:
            continue
        name, version = meta.get("Name"), meta.get("Version")
        if name and version:
            found[name] = version
    return found, newest


def python_version(venv):
    """The version in the venv's pyvenv.cfg (``version`` or ``version_info``), or None."""
    try:
        text = _read(os.path.join(venv, "pyvenv.cfg"))
    except OSError:
        return None
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() in ("version", "version_info"):
            return value.strip()
    return None


def git_dir_of(path):
    """The checkout's top directory and its .git directory, walking up from ``path``; (None, None) when none."""
    current = os.path.abspath(path)
    while True:
        candidate = os.path.join(current, ".git")
        if os.path.isdir(candidate):
            return current, candidate
        parent = os.path.dirname(current)
        if parent == current:
            return None, None
        current = parent


def head_commit(git_dir):
    """(commit, ref) of HEAD, read from .git (loose or packed refs); AdoptError when it cannot be read."""
    try:
        head = _read(os.path.join(git_dir, "HEAD")).strip()
    except OSError as exc:
        raise AdoptError(f"{git_dir}/HEAD cannot be read ({exc.strerror})") from exc
    if not head.startswith("ref: "):
        return head, None
    ref = head[5:].strip()
    try:
        return _read(os.path.join(git_dir, ref)).strip(), ref
    except OSError:
        pass
    try:
        packed = _read(os.path.join(git_dir, "packed-refs"))
    except OSError:
        packed = ""
    for line in packed.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == ref:
            return parts[0], ref
    raise AdoptError(f"HEAD of {git_dir} names {ref}, which has no commit yet")


def read_index(data):
    """[(path, sha1 hex, mtime seconds, size)] of a git index (versions 2 and 3); AdoptError otherwise."""
    if len(data) < 12 or data[:4] != b"DIRC":
        raise AdoptError("the checkout's .git/index is not a git index")
    version, count = struct.unpack(">II", data[4:12])
    if version not in (2, 3):
        raise AdoptError(f"the checkout's .git/index is version {version}; botfleet reads versions 2 and 3")
    entries = []
    offset = 12
    for _index in range(count):
        fields = struct.unpack(">10I20sH", data[offset : offset + 62])
        mtime, size, sha, flags = fields[2], fields[8], fields[10].hex(), fields[11]
        header = 62
        if version == 3 and flags & 0x4000:
            header += 2
        end = data.index(b"\0", offset + header)
        path = data[offset + header : end].decode("utf-8", "replace")
        entries.append((path, sha, mtime, size))
        # Entries are padded with NULs to a multiple of 8 bytes.
        offset += (end - offset + 8) // 8 * 8
    return entries


def blob_sha1(path):
    with open(path, "rb") as handle:
        content = handle.read()
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()  # noqa: S324 - git's object name


def local_changes(top, entries):
    """Tracked files of the checkout whose content differs from the index: ['M path', 'D path']."""
    changes = []
    for path, sha, mtime, size in entries:
        full = os.path.join(top, path)
        try:
            stat = os.lstat(full)
        except OSError:
            changes.append(f"D {path}")
            continue
        if stat.st_size == size and int(stat.st_mtime) == mtime:
            continue
        try:
            same = not os.path.islink(full) and blob_sha1(full) == sha
        except OSError:
            same = False
        if not same:
            changes.append(f"M {path}")
    return changes


def script_of(argv):
    """The script the interpreter runs (the first argument not an option), or None for -m / -c."""
    for arg in argv[1:]:
        if arg in ("-m", "-c"):
            return None
        if not arg.startswith("-"):
            return arg
    return None


def inspect(pid, proc="/proc", plain_keys=(), secret_keys=()):
    """Everything adoption needs to know about process ``pid``, and the problems that forbid it.

    The environment comes back as the names of its variables, the values of ``plain_keys`` only,
    and the names of the ``secret_keys`` it lacks; never a secret's value.
    """
    info = read_process(pid, proc)
    argv, cwd, environ = info["argv"], info["cwd"], info["environ"]
    problems, warnings = [], []
    venv = interpreter_venv(argv[0], cwd)
    distributions, newest = ({}, 0.0) if venv is None else venv_distributions(venv)
    if venv is None:
        problems.append(f"its interpreter {argv[0]} is not in a virtualenv (no pyvenv.cfg next to its bin/)")
    elif newest > info["started"]:
        warnings.append(
            f"{venv} changed after the process started: the release pins what is installed now, "
            "which may be newer than what the process loaded"
        )
    script = script_of(argv)
    top, git_dir = git_dir_of(cwd)
    commit = ref = None
    changes = []
    tracked = set()
    if git_dir is None:
        problems.append(f"its working directory {cwd} is not in a git checkout")
    else:
        commit, ref = head_commit(git_dir)
        try:
            entries = read_index(_read(os.path.join(git_dir, "index"), "rb"))
        except OSError as exc:
            raise AdoptError(f"{git_dir}/index cannot be read ({exc.strerror})") from exc
        tracked = {entry[0] for entry in entries}
        changes = local_changes(top, entries)
        if changes:
            warnings.append(
                f"the checkout {top} has local changes ({', '.join(changes)}): the release is built from "
                f"commit {commit[:12]}, without them"
            )
        if os.path.realpath(top) != os.path.realpath(cwd):
            problems.append(f"it runs in {cwd}, below the checkout's top {top}; botfleet runs a bot from the top")
    if script is None:
        problems.append("it runs no script (python -m or -c); set botfleet_exec and provision it instead")
    elif git_dir is not None:
        relative = os.path.relpath(os.path.normpath(os.path.join(cwd, script)), top)
        if relative not in tracked:
            where = "exists but is not committed" if os.path.exists(os.path.join(top, relative)) else "is not there"
            problems.append(f"its script {script} cannot be found in the checkout's commit {commit[:12]} ({where})")
    missing = [key for key in secret_keys if key not in environ]
    if missing:
        problems.append(f"its environment has no {', '.join(missing)} (botfleet_adopt_secrets)")
    return {
        "pid": pid,
        "argv": argv,
        "cwd": cwd,
        "user": info["user"],
        "log": info["log"],
        "started": info["started"],
        "venv": venv,
        "python": python_version(venv) if venv else None,
        "distributions": {name: version for name, version in distributions.items() if name.lower() not in TOOLING},
        "script": script,
        "checkout": top,
        "commit": commit,
        "ref": ref,
        "local_changes": changes,
        "environment_keys": sorted(environ),
        "environment": {key: environ[key] for key in plain_keys if key in environ},
        "problems": problems,
        "warnings": warnings,
    }


def env_file_text(bot, environ, keys):
    """The bot's secrets file (systemd EnvironmentFile) with the values of ``keys`` from ``environ``."""
    lines = [f"# Secrets of bot {bot}, carried over from its hand-started process by adopt.yml."]
    for key in sorted(keys):
        value = environ[key]
        if "\n" in value:
            raise AdoptError(f"{key} of {bot} holds a newline, which an environment file cannot carry")
        lines.append(f"{key}={env_file_value(value)}")
    return "\n".join(lines) + "\n"


def legacy_record(info):
    """What restarting the process exactly as it was needs (environment values included: kept 0600)."""
    return {
        "pid": info["pid"],
        "argv": info["argv"],
        "cwd": info["cwd"],
        "uid": info["uid"],
        "gid": info["gid"],
        "user": info["user"],
        "log": info["log"],
        "stderr": info["stderr"],
        "environ": info["environ"],
    }


def wait_gone(pid, timeout, proc="/proc", clock=time.monotonic, sleep=time.sleep):
    """Wait until ``pid`` has exited; True when it did within ``timeout`` seconds."""
    deadline = clock() + timeout
    while True:
        try:
            state = _read(os.path.join(proc, str(pid), "stat"))
        except OSError:
            return True
        # A zombie (state Z) has exited; its parent (a shell long gone, so init) reaps it.
        if state[state.rindex(")") + 2 :].startswith("Z"):
            return True
        if clock() >= deadline:
            return False
        sleep(0.005)


class Handover:
    """Stop the hand-started process and start the unit right after it exits; or give the bot back."""

    def __init__(self, run_command, bot, unit, record_path, proc="/proc", clock=time.monotonic):
        self.run_command = run_command
        self.bot = bot
        self.unit = unit
        self.record_path = record_path
        self.proc = proc
        self.clock = clock

    def save(self, info, env_path, secret_keys):
        """Keep the process's record and write the unit's secrets file, before anything stops."""
        text = env_file_text(self.bot, info["environ"], secret_keys)
        os.makedirs(os.path.dirname(self.record_path), 0o755, exist_ok=True)
        write_text_atomic(self.record_path, json.dumps(legacy_record(info), indent=1, sort_keys=True), 0o600)
        write_text_atomic(env_path, text, 0o600)

    def hand_over(self, pid, stop_timeout=20):
        """SIGTERM the process, wait for it to exit, start the unit: {gap, stop_seconds, killed}."""
        asked = self.clock()
        os.kill(pid, signal.SIGTERM)
        killed = False
        if not wait_gone(pid, stop_timeout, self.proc):
            os.kill(pid, signal.SIGKILL)
            killed = True
            if not wait_gone(pid, 5, self.proc):
                raise AdoptError(f"process {pid} of {self.bot} did not exit after SIGKILL; nothing was started")
        exited = self.clock()
        rc, out, err = self.run_command(["systemctl", "start", "--", self.unit])
        started = self.clock()
        if rc != 0:
            raise AdoptError(f"systemctl start {self.unit} failed: {(err or out).strip()}")
        return {
            "gap": round(started - exited, 3),
            "stop_seconds": round(exited - asked, 3),
            "killed": killed,
        }

    def read_record(self):
        try:
            return json.loads(_read(self.record_path))
        except (OSError, ValueError) as exc:
            raise AdoptError(
                f"{self.record_path} cannot be read ({exc}): the hand-started command of {self.bot} is unknown"
            ) from exc

    def give_back(self, record, running):
        """Stop and disable the unit, then start the recorded command again as it was: {pid, restarted}.

        ``running`` is the pid of a process matching the bot now, or None: a bot already back under
        its own process (a repeated restore) is not started twice.
        """
        self.run_command(["systemctl", "disable", "--now", "--", self.unit])
        if running is not None:
            return {"pid": running, "restarted": False}
        log = record.get("log")
        if not log or not log.startswith("/"):
            raise AdoptError(f"the recorded output of {self.bot} is {log!r}, not a file to append to")
        stdout = open(log, "ab")
        try:
            stderr = subprocess.STDOUT if record.get("stderr") == log else stdout
            child = subprocess.Popen(
                record["argv"],
                cwd=record["cwd"],
                env=record["environ"],
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
                user=record["uid"],
                group=record["gid"],
                extra_groups=[],
                preexec_fn=_ignore_hangup,
            )
        finally:
            stdout.close()
        return {"pid": child.pid, "restarted": True}


def _ignore_hangup():
    # What nohup does: the restarted process ignores SIGHUP like the one it replaces.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def take_back_switch(store, unit_path, reason, run_command):
    """Undo the adoption's switch: no current link, no unit file, state.json says the bot is not managed.

    The built release stays (a later adoption reuses it); the history keeps the failed adoption.
    """
    removed = []
    for path in (unit_path, store.current_link):
        if os.path.lexists(path):
            os.unlink(path)
            removed.append(path)
    run_command(["systemctl", "daemon-reload"])
    with store.lock():
        state = store.read_state()
        released = state.get("current")
        state.update(current=None, previous=None)
        store.write_state(state, {"event": "adopt", "verdict": "failed", "release": released, "reason": reason})
    return removed
