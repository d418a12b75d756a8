# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Target-side run lease of one bot: which playbook run may change the bot now.

A run takes the lease of every bot it will touch before it changes anything and
releases it at the end. The lease is a file next to the bot's state:

    <state_dir>/<bot>/lease.json   holder (run_id, controller, pid, user, playbook), acquired, expires, renewed

It is read and written under the bot's lock (the same flock as the release store's),
so of two runs racing for it exactly one wins. The holder's identity comes from the
controller (action plugin run_lease); so does the judgement that a holder's run is
gone, since only the controller it ran on can tell.

Standard library only.
"""

from __future__ import annotations

import contextlib
import json
import os
import time

from ansible_collections.botfleet.deploy.plugins.module_utils.release import (
    BotLock,
    ReleaseError,
    ReleaseStore,
    check_bot_name,
    write_json_atomic,
)
from ansible_collections.botfleet.deploy.plugins.module_utils.validate import absolute_path_problem, control_problem
from ansible_collections.botfleet.deploy.plugins.module_utils.venv import format_timestamp, parse_timestamp

LEASE_STATES = ("held", "released")
LEASE_FILE = "lease.json"
BREAK_OPTION = "-e botfleet_break_lease=true"
# Other holders of the bot's flock keep it for one short store operation (a commit, a switch, a prune).
LOCK_TIMEOUT = 300


class LeaseError(Exception):
    """The lease cannot be taken or read; the message says what to do.

    ``result`` carries what the task returns with the failure (bot, lease, holder, broken).
    """

    def __init__(self, msg, bot=None, lease=None, holder=None):
        super().__init__(msg)
        self.result = {"bot": bot, "lease": lease, "holder": holder, "broken": False}


def lease_path(state_dir, bot):
    return os.path.join(state_dir, bot, LEASE_FILE)


def holder_problem(holder):
    """What makes ``holder`` not the holder of a lease, or None."""
    if not isinstance(holder, dict):
        return "no holder object"
    if not isinstance(holder.get("run_id"), str) or not holder["run_id"]:
        return "the holder has no run_id"
    for key in ("controller", "user"):
        if not isinstance(holder.get(key), str):
            return f"the holder's {key} is not a string"
    if not isinstance(holder.get("pid"), int) or isinstance(holder["pid"], bool):
        return "the holder's pid is not a number"
    if holder.get("playbook") is not None and not isinstance(holder["playbook"], str):
        return "the holder's playbook is not a string"
    return None


def lease_problem(lease):
    """What makes ``lease`` not a run lease, or None."""
    if not isinstance(lease, dict):
        return f"a JSON {type(lease).__name__}, not an object"
    problem = holder_problem(lease.get("holder"))
    if problem:
        return problem
    for key in ("acquired", "expires", "renewed"):
        try:
            parse_timestamp(lease.get(key))
        except (TypeError, ValueError):
            return f"{key} is not a timestamp like 2026-11-28T07:01:02Z"
    return None


def read_lease(state_dir, bot):
    """The bot's lease as stored, or None when it has none; LeaseError when the file is damaged."""
    path = lease_path(state_dir, bot)
    repair = f"remove it if no botfleet run is active on {bot}"
    try:
        with open(path) as handle:
            lease = json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise LeaseError(f"{path} is not valid JSON ({exc}); {repair}", bot=bot) from exc
    except OSError as exc:
        raise LeaseError(f"cannot read {path}: {exc.strerror}", bot=bot) from exc
    problem = lease_problem(lease)
    if problem:
        raise LeaseError(f"{path} is not a botfleet run lease ({problem}); {repair}", bot=bot)
    return lease


def describe(bot, lease, verb="is"):
    """'jarvis is leased to rollout.yml run by alice on ctl1 (pid 4242) since <acquired>, until <expires>'."""
    holder = lease["holder"]
    run = f"{holder['playbook']} run" if holder.get("playbook") else "a run"
    acquired, expires = lease["acquired"], lease["expires"]
    # The expiry repeats the date only when it falls on another day.
    until = expires.split("T", 1)[1] if expires.split("T", 1)[0] == acquired.split("T", 1)[0] else expires
    return (
        f"{bot} {verb} leased to {run} by {holder['user']} on {holder['controller']} (pid {holder['pid']}) "
        f"since {acquired}, until {until}"
    )


def run_holder(hidden, playbook):
    """The holder this run writes: its identity from the action plugin's _holder, and its playbook."""
    holder = {key: (hidden or {}).get(key) for key in ("run_id", "controller", "pid", "user")}
    holder["playbook"] = playbook
    problem = holder_problem(holder)
    if problem:
        raise LeaseError(
            f"run_lease needs the identity of its run from its action plugin ({problem}); "
            "call it as a task, not as a module on its own"
        )
    return holder


class _StateFile(ReleaseStore):
    """The bot's state.json, written through the release store so history entries keep one format.

    A lease knows no release root; the root given is never used, and writing the state
    file creates only the bot's state directory.
    """

    def __init__(self, state_dir, bot):
        super().__init__(root=state_dir, state_dir=state_dir, bot=bot)

    def ensure_dirs(self):
        os.makedirs(self.state_dir, 0o755, exist_ok=True)


class RunLease:
    """The lease of one bot on this host, as seen by one run (``holder``)."""

    def __init__(self, state_dir, bot, holder, ttl=3600, gone=(), check_mode=False, clock=time.time, warn=None):
        try:
            check_bot_name(bot)
        except ReleaseError as exc:
            raise LeaseError(str(exc), bot=bot) from exc
        problem = absolute_path_problem(state_dir, "state_dir") or control_problem(
            str(holder.get("playbook") or ""), "playbook"
        )
        if problem is not None:
            raise LeaseError(problem, bot=bot)
        if ttl < 1:
            raise LeaseError(f"ttl={ttl}: a lease must last at least 1 second", bot=bot)
        self.state_dir = state_dir
        self.bot = bot
        self.bot_dir = os.path.join(state_dir, bot)
        self.path = lease_path(state_dir, bot)
        self.holder = holder
        self.ttl = ttl
        self.gone = set(gone)
        self.check_mode = check_mode
        self.clock = clock
        self.warn = warn or (lambda _message: None)

    def lock(self):
        """The bot's flock; check mode writes nothing, not even the lock file."""
        if self.check_mode:
            return contextlib.nullcontext()
        os.makedirs(self.bot_dir, 0o755, exist_ok=True)
        return BotLock(os.path.join(self.bot_dir, ".lock"), LOCK_TIMEOUT)

    def read(self):
        return read_lease(self.state_dir, self.bot)

    def result(self, changed, lease, found, broken=False, **extra):
        return dict(
            extra,
            changed=changed,
            bot=self.bot,
            lease=lease,
            holder=found["holder"] if found else None,
            broken=broken,
        )

    def fail(self, msg, found):
        return LeaseError(msg, bot=self.bot, lease=found, holder=found["holder"])

    def write(self, lease):
        if not self.check_mode:
            write_json_atomic(self.path, lease)

    def new_lease(self, now):
        stamp = format_timestamp(now)
        return {
            "holder": dict(self.holder),
            "acquired": stamp,
            "expires": format_timestamp(now + self.ttl),
            "renewed": stamp,
        }

    # -- states -------------------------------------------------------------------------------------------------

    def hold(self, break_lease=False):
        try:
            with self.lock():
                return self._hold(break_lease)
        except ReleaseError as exc:
            raise LeaseError(str(exc), bot=self.bot) from exc
        except OSError as exc:
            raise LeaseError(f"cannot take the lease of {self.bot} in {self.bot_dir}: {exc}", bot=self.bot) from exc

    def _hold(self, break_lease):
        now = self.clock()
        found = self.read()
        if found is None:
            lease = self.new_lease(now)
            self.write(lease)
            return self.result(True, lease, None)
        if found["holder"]["run_id"] == self.holder["run_id"]:
            # Renewing within the run it belongs to changes nothing a user would call a change.
            lease = dict(found, expires=format_timestamp(now + self.ttl), renewed=format_timestamp(now))
            self.write(lease)
            return self.result(False, lease, found)
        expired = now >= parse_timestamp(found["expires"])
        gone = found["holder"]["run_id"] in self.gone
        if not (expired or gone):
            raise self.fail(self.live_message(found, break_lease), found)
        reason = "gone" if gone else "expired"
        if not break_lease:
            raise self.fail(self.breakable_message(found, reason), found)
        lease = self.new_lease(now)
        if not self.check_mode:
            # Recorded before the lease is taken over: a break that cannot be recorded does not happen.
            self.record_break(found, reason)
        self.write(lease)
        why = "that run is gone" if gone else "the lease had expired"
        msg = f"{describe(self.bot, found, 'was')}; {why}, so this run broke the lease and holds it"
        return self.result(True, lease, found, broken=True, msg=msg)

    def release(self):
        try:
            with self.lock():
                return self._release()
        except ReleaseError as exc:
            raise LeaseError(str(exc), bot=self.bot) from exc
        except OSError as exc:
            raise LeaseError(f"cannot release the lease of {self.bot} in {self.bot_dir}: {exc}", bot=self.bot) from exc

    def _release(self):
        found = self.read()
        if found is None:
            return self.result(False, None, None)
        if found["holder"]["run_id"] != self.holder["run_id"]:
            self.warn(f"left the lease in place, since this run does not hold it: {describe(self.bot, found)}")
            return self.result(False, found, found)
        if not self.check_mode:
            os.unlink(self.path)
        return self.result(True, None, found)

    # -- what a user reads --------------------------------------------------------------------------------------

    def live_message(self, found, break_lease):
        holder = found["holder"]
        here = holder["controller"] == self.holder["controller"]
        expires = found["expires"]
        if here:
            advice = f"that run is still running on {holder['controller']}; wait for it to finish"
        else:
            advice = (
                f"wait for it to finish, or if that run is gone pass {BREAK_OPTION} on {holder['controller']} "
                f"(where its pid can be checked) or after {expires}, when the lease expires"
            )
        if break_lease:
            advice = f"botfleet_break_lease breaks only an expired lease or one whose run is gone: {advice}"
        return f"{describe(self.bot, found)}; {advice}"

    def breakable_message(self, found, reason):
        holder = found["holder"]
        if reason == "gone":
            why = f"that run is gone (pid {holder['pid']} on {holder['controller']} has ended)"
        else:
            why = "the lease has expired"
        return f"{describe(self.bot, found)}; {why}; pass {BREAK_OPTION} to break the lease and take it over"

    def record_break(self, found, reason):
        state_file = _StateFile(self.state_dir, self.bot)
        event = {"event": "lease_broken", "holder": found["holder"], "by": dict(self.holder), "reason": reason}
        try:
            state_file.write_state(state_file.read_state(), event)
        except ReleaseError as exc:
            raise self.fail(
                f"the lease of {self.bot} was not broken, since the break cannot be recorded: {exc}", found
            ) from exc
        except (AttributeError, TypeError) as exc:
            # read_state/write_state expect an object with a history list; they do not check the shape yet.
            raise self.fail(
                f"the lease of {self.bot} was not broken, since the break cannot be recorded: "
                f"{state_file.state_file} is not a botfleet state file ({exc}); fix or remove it",
                found,
            ) from exc


def run_lease(params, check_mode=False, warn=None, clock=time.time):
    """What the run_lease module does with its parameters; returns its result, raises LeaseError."""
    lease = RunLease(
        params["state_dir"],
        params["bot"],
        run_holder(params.get("_holder"), params.get("playbook")),
        ttl=params["ttl"],
        gone=(params.get("_holder") or {}).get("gone") or (),
        check_mode=check_mode,
        clock=clock,
        warn=warn,
    )
    if params["state"] == "released":
        return lease.release()
    return lease.hold(params["break_lease"])
