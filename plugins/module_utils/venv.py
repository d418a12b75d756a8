# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Target-side inspection of a Python virtualenv and of the processes using it.

Standard library only: this runs on managed nodes that have nothing but python3.
Version logic (PEP 440, markers) is not done here; the raw facts go back to the
controller, where the real ``packaging`` library evaluates them.
"""

from __future__ import annotations

import calendar
import grp
import hashlib
import json
import os
import pwd
import stat
import time

from ansible_collections.botfleet.deploy.plugins.module_utils.health import parse_show
from ansible_collections.botfleet.deploy.plugins.module_utils.validate import unit_name_problem

# Runs inside the venv's own interpreter, once per call, and prints one JSON
# document. It must keep working on every Python a bot may use (3.8+).
PROBE_SCRIPT = r"""
import importlib.metadata as md
import json, os, platform, sys

def full_version(info):
    version = "{0.major}.{0.minor}.{0.micro}".format(info)
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version

seen = {}
for dist in md.distributions():
    name = dist.metadata["Name"]
    if not name:
        continue
    key = name.lower().replace("_", "-").replace(".", "-")
    if key in seen:
        continue
    info_dir = getattr(dist, "_path", None)
    installed_at = None
    if info_dir is not None:
        try:
            installed_at = os.stat(str(info_dir)).st_mtime
        except OSError:
            pass
    seen[key] = {
        "name": name,
        "version": dist.version,
        "requires": list(dist.requires or []),
        "location": str(info_dir) if info_dir is not None else None,
        "installed_at": installed_at,
    }

json.dump({
    "python": {
        "version": platform.python_version(),
        "implementation": sys.implementation.name,
        "executable": sys.executable,
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
    },
    "marker_environment": {
        "implementation_name": sys.implementation.name,
        "implementation_version": full_version(sys.implementation.version),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    },
    "distributions": seen,
}, sys.stdout)
"""

UNIT_PROPERTIES = (
    "Id",
    "LoadState",
    "ActiveState",
    "SubState",
    "UnitFileState",
    "MainPID",
    "NRestarts",
    "ExecMainStartTimestamp",
)


class VenvError(Exception):
    """A venv could not be inspected; the message says why in the user's terms."""


def venv_python(path):
    return os.path.join(path, "bin", "python")


def venv_state(path):
    """Return 'missing', 'venv', or a sentence saying why ``path`` is not a venv."""
    if not os.path.lexists(path):
        return "missing"
    if not os.path.isdir(path):
        return f"{path} exists but is not a directory, so it is not a virtualenv"
    if not os.path.isfile(os.path.join(path, "pyvenv.cfg")):
        return f"{path} exists but has no pyvenv.cfg, so it is not a virtualenv"
    if not os.access(venv_python(path), os.X_OK):
        return f"{path} has a pyvenv.cfg but no executable bin/python; recreate the virtualenv"
    return "venv"


def probe(run_command, path):
    """Inspect the venv at ``path`` with one run of its interpreter.

    ``run_command`` is AnsibleModule.run_command (or any callable with its
    contract): it returns (rc, stdout, stderr).
    """
    # -I: ignore PYTHONPATH, user site and the current directory, so the result
    # describes the venv and nothing the calling environment adds.
    rc, out, err = run_command([venv_python(path), "-I", "-c", PROBE_SCRIPT])
    if rc != 0:
        raise VenvError(f"the interpreter of {path} failed to list its packages (rc={rc}): {err.strip()}")
    try:
        return json.loads(out)
    except ValueError as exc:
        raise VenvError(f"the interpreter of {path} printed no valid package list: {exc}") from exc


def symlink_switches(path):
    """Map each symlink among ``path`` and its parents to the time it was (re)created.

    A release switch renames a new ``current`` link into place, so the link's own
    mtime is the moment the venv behind ``path`` changed.
    """
    switches = {}
    current = os.path.abspath(path)
    while True:
        if os.path.islink(current):
            switches[current] = os.lstat(current).st_mtime
        parent = os.path.dirname(current)
        if parent == current:
            return switches
        current = parent


def process_start_time(pid, proc="/proc"):
    """Wall-clock start time of ``pid`` (seconds since the epoch), from /proc.

    /proc/PID/stat counts the start in clock ticks since boot. The boot moment
    is taken from CLOCK_BOOTTIME rather than /proc/stat's whole-second btime,
    which could place a process up to a second too early, before a release
    switch that preceded it by milliseconds.
    """
    try:
        with open(os.path.join(proc, str(pid), "stat")) as stat:
            raw = stat.read()
    except OSError as exc:
        raise VenvError(f"process {pid} is gone: {exc}") from exc
    # The command name (field 2) may contain spaces and parentheses; the fields
    # after the last ')' are fixed. starttime is field 22, i.e. index 19 after it.
    fields = raw[raw.rindex(")") + 2 :].split()
    since_boot = int(fields[19]) / float(os.sysconf("SC_CLK_TCK"))
    return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME) + since_boot


def file_info(paths):
    """What a deployment compares of each path: type, mode, owner, group, SHA-1 of a file's content, mtime.

    Lets a play tell a converged bot (files as rendered) from one to redeploy in the same
    interpreter run as the rest of the facts. A missing path is reported, not an error.
    """
    info = {}
    for path in paths or ():
        try:
            st = os.stat(path)
        except OSError:
            info[path] = {"exists": False}
            continue
        entry = {
            "exists": True,
            "type": "directory" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other",
            "mode": f"{stat.S_IMODE(st.st_mode):04o}",
            "owner": _user_name(st.st_uid),
            "group": _group_name(st.st_gid),
            "checksum": None,
            "mtime": st.st_mtime,
        }
        if entry["type"] == "file":
            digest = hashlib.sha1()  # noqa: S324 - not for security: the checksum Ansible's file modules report
            try:
                with open(path, "rb") as handle:
                    for block in iter(lambda: handle.read(65536), b""):
                        digest.update(block)
                entry["checksum"] = digest.hexdigest()
            except OSError:
                entry["checksum"] = None
        info[path] = entry
    return info


def file_mtimes(info):
    """{path: mtime} of the paths of a file_info() result that exist."""
    return {path: entry["mtime"] for path, entry in info.items() if entry["exists"]}


def _user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def pending_changes(started_at, distributions, switches, resolution=None):
    """What changed in a venv after a process using it started.

    Returns (names of packages installed later, links switched later), both sorted.
    A process keeps the modules it imported in memory, so any of these means it
    still runs older code than what is on disk: a restart is pending.

    The start time is truncated to a clock tick (10 ms), so a change must come
    more than one tick after it to count; no deployment restarts that fast.
    """
    if resolution is None:
        resolution = 1.0 / os.sysconf("SC_CLK_TCK")
    threshold = started_at + resolution
    newer = sorted(
        dist["name"]
        for dist in distributions.values()
        if dist.get("installed_at") is not None and dist["installed_at"] > threshold
    )
    switched = sorted(link for link, mtime in switches.items() if mtime > threshold)
    return newer, switched


def unit_process(run_command, unit, distributions, switches, proc="/proc", files=None):
    """Describe a systemd unit's main process and whether it needs a restart.

    ``files`` is a file_info() result: a file changed after the process started counts too.
    """
    problem = unit_name_problem(unit, "unit")
    if problem:
        raise VenvError(problem)
    # '--': a unit name may start with '-' (-.mount) and must never be read as an option.
    rc, out, err = run_command(["systemctl", "show", "--property=" + ",".join(UNIT_PROPERTIES), "--", unit])
    if rc != 0:
        raise VenvError(f"systemctl show {unit} failed (rc={rc}): {err.strip()}")
    props = parse_show(out)
    main_pid = int(props.get("MainPID") or 0)
    result = {
        "unit": props.get("Id") or unit,
        "load_state": props.get("LoadState", ""),
        "active_state": props.get("ActiveState", ""),
        "sub_state": props.get("SubState", ""),
        "unit_file_state": props.get("UnitFileState", ""),
        "restarts": int(props["NRestarts"]) if props.get("NRestarts", "").isdigit() else None,
        "main_pid": main_pid or None,
        "started_at": None,
        "uptime": None,
        "restart_pending": False,
        "newer_packages": [],
        "switched_links": [],
        "newer_files": [],
    }
    if result["load_state"] == "not-found":
        raise VenvError(f"unit {unit} does not exist on this host")
    if not main_pid:
        return result
    started = process_start_time(main_pid, proc)
    newer, switched = pending_changes(started, distributions, switches)
    # Files (environment file, unit file) count like links: their mtime is when they changed.
    _none, newer_files = pending_changes(started, {}, file_mtimes(files or {}))
    result.update(
        started_at=format_timestamp(started),
        uptime=round(max(0.0, time.time() - started), 1),
        restart_pending=bool(newer or switched or newer_files),
        newer_packages=newer,
        switched_links=switched,
        newer_files=newer_files,
    )
    return result


TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_timestamp(epoch):
    """The UTC timestamp of state.json, leases and reports (whole seconds) of seconds since the epoch."""
    if epoch is None:
        return None
    return time.strftime(TIMESTAMP_FORMAT, time.gmtime(epoch))


def parse_timestamp(text):
    """Seconds since the epoch of a format_timestamp() text; ValueError when it is not one."""
    return calendar.timegm(time.strptime(text, TIMESTAMP_FORMAT))


def gather(run_command, path, units=(), proc="/proc", files=()):
    """Everything bot_facts reports from the target, in one interpreter run.

    A missing venv is a fact (``exists: false``), not an error; a path that is
    something else than a venv is an error.
    """
    state = venv_state(path)
    if state not in ("missing", "venv"):
        raise VenvError(state)
    facts = {
        "path": path,
        "exists": state == "venv",
        "real_path": os.path.realpath(path) if state == "venv" else None,
        "python": {},
        "marker_environment": {},
        "distributions": {},
        "units": {},
        "files": file_info(files),
    }
    if facts["exists"]:
        facts.update(probe(run_command, path))
    switches = symlink_switches(path)
    for unit in units:
        facts["units"][unit] = unit_process(run_command, unit, facts["distributions"], switches, proc, facts["files"])
    return facts
