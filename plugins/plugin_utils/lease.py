# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who holds a run lease: the identity of this ansible-playbook run, told on the controller.

Action plugins run in a worker process that the strategy forks for each task from the
ansible-playbook (or ansible) main process (ansible-core 2.19: plugins/strategy/__init__.py
starts executor/process/worker.py's WorkerProcess, from the 'fork' multiprocessing context),
so the parent of the process running this code is the run itself, the same for all its tasks.
"""

from __future__ import annotations

import getpass
import os
import socket

PROC = "/proc"


def process_start(pid, proc=PROC):
    """When ``pid`` started, as '<boot id>-<clock ticks since boot>'; None when no such process runs.

    The boot id makes the start unique across reboots of the controller. When the start
    cannot be read (no /proc on a macOS controller, or another user's process hidden by
    hidepid), it is '' for a running process: such a holder is never taken for gone.
    """
    if not _running(pid):
        return None
    try:
        with open(os.path.join(proc, str(pid), "stat")) as handle:
            raw = handle.read()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses; starttime is field 22.
    ticks = raw[raw.rindex(")") + 2 :].split()[19]
    try:
        with open(os.path.join(proc, "sys", "kernel", "random", "boot_id")) as handle:
            boot = handle.read().strip()[:8]
    except OSError:
        boot = ""
    return f"{boot}-{ticks}"


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_id(controller, pid, start):
    """The id of the run of process ``pid`` started at ``start`` (from process_start) on ``controller``."""
    return f"{controller}:{pid}:{start}" if start else f"{controller}:{pid}"


def login_user():
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        # A container user without a passwd entry or LOGNAME.
        return str(os.getuid())


def this_run(proc=PROC):
    """The holder identity of the ansible-playbook run this action plugin works for."""
    controller = socket.gethostname()
    pid = os.getppid()
    return {
        "run_id": run_id(controller, pid, process_start(pid, proc)),
        "controller": controller,
        "pid": pid,
        "user": login_user(),
    }


def holder_is_gone(holder, controller, proc=PROC):
    """Whether the run holding a lease is known to be gone.

    Only a run of this controller can be checked: it is gone when its pid no longer runs or
    runs another process (started at another time, or in another boot). A holder on another
    controller, or whose pid runs with a start that cannot be read, is not known to be gone.
    """
    if not isinstance(holder, dict) or holder.get("controller") != controller:
        return False
    pid = holder.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    start = process_start(pid, proc)
    if start is None:
        return True
    return bool(start) and run_id(controller, pid, start) != holder.get("run_id")
