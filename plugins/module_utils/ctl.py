# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""botfleetctl, the command on each VM: status, history, releases and rollback of its bots.

The script bot_host installs (roles/bot_host/templates/botfleetctl.j2) puts this collection's
module_utils first on sys.path and calls main(); the work is done here with the modules' own
code: the release store (release.py), the run lease (lease.py), the unit reader (venv.py) and
the health watch of unit_health (health.py). What botfleetctl writes is what the playbooks
read: a rollback made on the VM is in state.json, and status.yml and the next rollout see it.

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import socket
import subprocess
import sys
import time

from ansible_collections.botfleet.deploy.plugins.module_utils.health import HealthError, restart_unit, watch_unit
from ansible_collections.botfleet.deploy.plugins.module_utils.journal import apply_verdict
from ansible_collections.botfleet.deploy.plugins.module_utils.lease import (
    LeaseError,
    RunLease,
    describe,
    parse_timestamp,
    read_lease,
)
from ansible_collections.botfleet.deploy.plugins.module_utils.release import (
    AlreadyRolledBack,
    NoPreviousRelease,
    ReleaseError,
    ReleaseStore,
    check_bot_name,
    check_release_id,
)
from ansible_collections.botfleet.deploy.plugins.module_utils.venv import (
    VenvError,
    format_timestamp,
    symlink_switches,
    unit_process,
)

# Exit codes, documented in the --help text below.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_PERMISSION = 4
EXIT_STATE = 5

# Where bot_host puts things; the installed script passes the VM's own values.
DEFAULT_PATHS = {
    "root": "/opt/botfleet",
    "state_dir": "/var/lib/botfleet",
    "config_dir": "/etc/botfleet",
    "unit_dir": "/etc/systemd/system",
    "group": "botfleet",
}
LEASE_PLAYBOOK = "botfleetctl rollback"
# Long enough for a rollback whose unit takes its whole --timeout; given back at the end.
LEASE_TTL = 900
SHOWN_VERDICTS = 3

DESCRIPTION = """\
NAME
    botfleetctl - status, history, releases and rollback of the botfleet bots on this VM

SYNOPSIS
    botfleetctl [--json] status [BOT ...]
    botfleetctl [--json] history BOT [--limit N]
    botfleetctl [--json] releases BOT
    botfleetctl [--json] rollback BOT [--to RELEASE] [--timeout SECONDS] [--stable SECONDS] [--break-lease]

DESCRIPTION
    Reads and changes the bots that botfleet deployed on this host with the code of the
    collection's modules, so that it and the playbooks keep one release store: a rollback
    made here is in the bot's state.json, status.yml shows it, and the next rollout.yml
    finds the bot off its target release and says so.

COMMANDS
    status [BOT ...]
        Per bot (all bots of this host when none is named): its release and the previous
        one, the versions of its pinned packages (and the source commit when the release
        records one), the unit's state, uptime and restarts, whether a restart is pending,
        the canary mark, the last verdicts and who holds the run lease.

    history BOT
        The bot's deployment journal, newest first: builds, switches and rollbacks (with who
        made them), repairs, broken leases, and the verdicts of canaries, gates, soaks,
        rollouts and rollbacks.

    releases BOT
        The releases kept on this host, newest first, marking the current and the previous one.

    rollback BOT [--to RELEASE]
        Switches the bot back to its previous release (or RELEASE) as a whole: venv, unit and
        non-secret environment, as the playbooks' rollback does. Takes the bot's run lease
        first and refuses, naming the holder, while a playbook run holds it; restarts the unit,
        waits until it is active and has stayed up --stable seconds (default 2), records the
        event with the user who ran it (SUDO_USER) in state.json, and prints the time it took.
        A bot just rolled back is not rolled back again without --to: its previous release
        is the one it left. Nothing is rebuilt and no package index is needed.

    Read commands work for root and the members of the botfleet group; rollback needs root.

OPTIONS
    --json    print one JSON document instead of text, for scripts
"""

EPILOG = """\
EXIT STATUS
    0   done
    1   the rollback failed: the message says what the bot runs now and what to do
    2   usage: unknown command, option, bot or release
    3   refused, nothing was changed: another run holds the lease, or there is no release
        to go back to
    4   not permitted: rollback needs root; reading needs root or the botfleet group
    5   botfleet's files for the bot cannot be used (a damaged state.json or lease.json)

FILES
    /opt/botfleet/BOT/current             the release the bot runs (a link into releases/)
    /var/lib/botfleet/BOT/state.json      current, previous, history, canary mark, verdicts
    /var/lib/botfleet/BOT/lease.json      the run lease while a playbook or botfleetctl changes the bot

EXAMPLES
    botfleetctl status
    sudo botfleetctl rollback toodles
    sudo botfleetctl rollback toodles --to 3f9c2a1b4c5d
    botfleetctl --json status toodles | jq .toodles.release
"""


class CtlError(Exception):
    """What botfleetctl tells the user when it stops, with its exit code."""

    def __init__(self, msg, code):
        super().__init__(msg)
        self.code = code


def run_command(argv):
    """(rc, stdout, stderr) of a command, AnsibleModule.run_command's contract."""
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def invoking_user(environ, uid):
    """Who ran the command: the user sudo ran it for, else the account of ``uid``."""
    if environ.get("SUDO_USER"):
        return environ["SUDO_USER"]
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def human_duration(seconds):
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def age(at, now):
    try:
        return human_duration(max(0, now - parse_timestamp(at))) + " ago"
    except (TypeError, ValueError):
        return "at an unknown time"


class Host:
    """The bots of this host, read and changed through the modules' code."""

    def __init__(self, paths=None, run=run_command, clock=time.time, monotonic=time.monotonic, sleep=time.sleep):
        self.paths = dict(DEFAULT_PATHS, **(paths or {}))
        self.run = run
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        self.warnings = []

    # -- which bots -------------------------------------------------------------------------------------------

    def bots(self):
        """The bots of this host: those with a release directory or a state directory, sorted."""
        found = set()
        for base in (self.paths["root"], self.paths["state_dir"]):
            try:
                names = os.listdir(base)
            except OSError:
                continue
            for name in names:
                try:
                    check_bot_name(name)
                except ReleaseError:
                    continue
                if os.path.isdir(os.path.join(base, name)):
                    found.add(name)
        return sorted(found)

    def store(self, bot):
        """The release store of ``bot``, which must be a bot of this host."""
        try:
            check_bot_name(bot)
        except ReleaseError as exc:
            raise CtlError(str(exc), EXIT_USAGE) from exc
        bots = self.bots()
        if bot not in bots:
            raise CtlError(f"no bot named {bot} on this host (bots here: {', '.join(bots) or 'none'})", EXIT_USAGE)
        store = ReleaseStore(self.paths["root"], self.paths["state_dir"], bot)
        store.state_group = self.paths["group"]
        return store

    def state(self, store):
        """The bot's state.json, or CtlError with an exit code that says whether it is access or damage."""
        if os.path.exists(store.state_file) and not os.access(store.state_file, os.R_OK):
            raise CtlError(
                f"cannot read {store.state_file}: reading a bot's state needs root or the {self.paths['group']} group",
                EXIT_PERMISSION,
            )
        try:
            return store.read_state()
        except ReleaseError as exc:
            raise CtlError(str(exc), EXIT_STATE) from exc

    # -- reading ----------------------------------------------------------------------------------------------

    @staticmethod
    def release_info(store, release_id):
        """What status and releases show of a release: created, versions, pinned names, commit."""
        if not release_id:
            return None
        try:
            record = store.read_release(release_id)
        except (OSError, ValueError):
            return {"id": release_id, "whole": False, "versions": {}, "pinned": [], "commit": None}
        source = record.get("source") if isinstance(record.get("source"), dict) else {}
        return {
            "id": release_id,
            "whole": store.is_complete(release_id),
            "created": record.get("created"),
            "venv_id": record.get("venv_id"),
            "versions": dict(record.get("resolved") or {}),
            "pinned": sorted(record.get("pins") or {}),
            # Recorded by releases built from the bot's source (issue 14), when they are.
            "commit": record.get("commit") or source.get("commit"),
            "unit": record.get("unit"),
        }

    def unit(self, store, release):
        """The unit's state as bot_facts reads it; restart pending from the switch and the unit and env files."""
        name = (release or {}).get("unit") or f"botfleet-{store.bot}.service"
        files = {}
        for path in (
            os.path.join(self.paths["unit_dir"], name),
            os.path.join(self.paths["config_dir"], f"{store.bot}.env"),
        ):
            try:
                files[path] = {"exists": True, "mtime": os.stat(path).st_mtime}
            except OSError:
                files[path] = {"exists": False}
        try:
            # Releases are immutable: no package changes under a running bot, only switches and files.
            return unit_process(
                self.run, name, {}, symlink_switches(os.path.join(store.current_link, "venv")), files=files
            )
        except VenvError as exc:
            return {"unit": name, "error": str(exc)}

    def lease(self, bot):
        try:
            return read_lease(self.paths["state_dir"], bot)
        except LeaseError as exc:
            return {"error": str(exc)}

    def status(self, bot):
        store = self.store(bot)
        state = self.state(store)
        current = store.current()
        release = self.release_info(store, current)
        return {
            "bot": bot,
            "release": current,
            "previous": state.get("previous"),
            "current_release": release,
            "unit": self.unit(store, release),
            "canary": state.get("canary"),
            "last_probe": state.get("last_probe"),
            "verdicts": (state.get("verdicts") or [])[-SHOWN_VERDICTS:][::-1],
            "lease": self.lease(bot),
        }

    def history(self, bot):
        """History entries and verdicts, newest first (each with its kind)."""
        state = self.state(self.store(bot))
        entries = [dict(entry, kind="event") for entry in state.get("history") or [] if isinstance(entry, dict)]
        entries += [dict(entry, kind="verdict") for entry in state.get("verdicts") or [] if isinstance(entry, dict)]
        # Stable: of two entries in the same second, the one written later comes first.
        ordered = sorted(enumerate(entries), key=lambda pair: (str(pair[1].get("at") or ""), pair[0]), reverse=True)
        return [entry for _index, entry in ordered]

    def releases(self, bot):
        store = self.store(bot)
        state = self.state(store)
        current, previous = store.current(), state.get("previous")
        listed = []
        for release_id, _created in reversed(store.releases()):
            info = self.release_info(store, release_id)
            info.update(current=release_id == current, previous=release_id == previous)
            listed.append(info)
        return listed

    # -- rollback ---------------------------------------------------------------------------------------------

    def rollback(self, bot, release_id=None, user="root", timeout=60, stable=2, break_lease=False):
        """Switch ``bot`` back as a whole, restart it, wait until it is up, record it; returns what happened."""
        started = self.monotonic()
        if release_id:
            try:
                check_release_id(release_id)
            except ReleaseError as exc:
                raise CtlError(str(exc), EXIT_USAGE) from exc
        store = self.store(bot)
        lease = self.take_lease(bot, user, break_lease)
        try:
            return self._rollback(store, release_id, user, timeout, stable, started)
        finally:
            try:
                lease.release()
            except LeaseError as exc:
                self.warnings.append(f"the lease was not given back: {exc}")

    def take_lease(self, bot, user, break_lease):
        found = self.lease(bot)
        if found and "error" in found:
            raise CtlError(f"rollback of {bot} refused, nothing was changed: {found['error']}", EXIT_STATE)
        holder = {
            "run_id": f"{socket.gethostname()}:{os.getpid()}:{self.clock():.0f}",
            "controller": socket.gethostname(),
            "pid": os.getpid(),
            "user": user,
            "playbook": LEASE_PLAYBOOK,
        }
        gone = [found["holder"]["run_id"]] if found and self.holder_gone(found["holder"]) else []
        lease = RunLease(self.paths["state_dir"], bot, holder, ttl=LEASE_TTL, gone=gone, clock=self.clock)
        try:
            lease.hold(break_lease)
        except LeaseError as exc:
            if not found:
                raise CtlError(f"rollback of {bot} refused, nothing was changed: {exc}", EXIT_STATE) from exc
            raise CtlError(self.refusal(bot, found, bool(gone), break_lease), EXIT_REFUSED) from exc
        return lease

    @staticmethod
    def holder_gone(holder):
        """A botfleetctl of this host that no longer runs; a playbook's run can only be judged on its controller."""
        if holder.get("controller") != socket.gethostname() or not str(holder.get("playbook")).startswith(
            "botfleetctl"
        ):
            return False
        try:
            os.kill(holder["pid"], 0)
        except ProcessLookupError:
            return True
        except (PermissionError, OverflowError, TypeError):
            return False
        return False

    def refusal(self, bot, found, gone, break_lease):
        held = describe(bot, found)
        expired = self.clock() >= parse_timestamp(found["expires"])
        if gone or expired:
            why = "that botfleetctl is gone" if gone else "the lease has expired"
            return f"rollback of {bot} refused, nothing was changed: {held}; {why}: pass --break-lease to take it over"
        advice = (
            f"wait for that run to finish (botfleetctl status {bot} shows the lease); a lease of a run that is gone "
            f"can be broken on its controller, or here with --break-lease after it expires"
        )
        if break_lease:
            advice = f"--break-lease breaks only an expired lease or one of a botfleetctl that is gone: {advice}"
        return f"rollback of {bot} refused, nothing was changed: {held}; {advice}"

    def _rollback(self, store, release_id, user, timeout, stable, started):
        bot = store.bot
        state = self.state(store)
        store.reconcile(state)
        try:
            target = store.rollback_target(state, release_id, "--to RELEASE")
        except (AlreadyRolledBack, NoPreviousRelease) as exc:
            raise CtlError(f"rollback of {bot} refused, nothing was changed: {exc}", EXIT_REFUSED) from exc
        except ReleaseError as exc:
            raise CtlError(str(exc), EXIT_STATE) from exc
        details = {"by": user, "via": "botfleetctl"}
        try:
            with store.lock():
                outcome = store.activate(target, "rolled_back", self.paths["unit_dir"], details)
        except ReleaseError as exc:
            raise CtlError(f"rollback of {bot}: {exc}", EXIT_FAILED) from exc
        result = {
            "bot": bot,
            "from": outcome["previous"],
            "to": target,
            "switched": outcome["switched"],
            "by": user,
            "from_release": self.release_info(store, outcome["previous"]),
            "to_release": self.release_info(store, target),
            "repaired": outcome["repaired"],
        }
        unit = result["to_release"].get("unit") or f"botfleet-{bot}.service"
        if not (outcome["switched"] or outcome["unit_changed"]):
            result.update(ok=True, unit=unit, seconds=round(self.monotonic() - started, 2), restarted=False)
            return result
        verdict, reason = self.restart(unit, outcome["unit_changed"], timeout, stable)
        seconds = round(self.monotonic() - started, 2)
        result.update(ok=verdict == "healthy", unit=unit, seconds=seconds, restarted=True, reason=reason, stable=stable)
        self.record(store, result)
        return result

    def restart(self, unit, reload_units, timeout, stable):
        """Restart the unit as restart.yml does, and watch it as unit_health does; (verdict, reason)."""
        if not reload_units:
            # A unit file changed by hand, or by a run that died before its restart, is loaded too.
            rc, out, _err = self.run(["systemctl", "show", "--property=NeedDaemonReload", "--value", "--", unit])
            reload_units = rc == 0 and out.strip() == "yes"
        if reload_units:
            rc, _out, err = self.run(["systemctl", "daemon-reload"])
            if rc != 0:
                return "failed", f"systemctl daemon-reload failed: {err.strip()}"
        problem = restart_unit(self.run, unit)
        if problem:
            return "failed", f"systemctl restart {unit} failed: {problem}"
        params = {
            "unit": unit,
            "timeout": timeout,
            "stable_for": stable,
            "poll_interval": 0.2,
            "fail_patterns": [],
            "ready_pattern": None,
            "redact": [],
        }
        try:
            verdict, reason, report = watch_unit(self.run, params, clock=self.monotonic, sleep=self.sleep)
        except HealthError as exc:
            return "failed", str(exc)
        if verdict == "healthy":
            return verdict, f"{unit} {report['active_state']}/{report['sub_state']}"
        return verdict, reason

    def record(self, store, result):
        """The rollback's verdict in state.json, as rollback.yml records its own."""
        how = "active" if result["ok"] else f"not active: {result['reason']}"
        entry = {
            "event": "rollback",
            "verdict": "passed" if result["ok"] else "failed",
            "release": result["to"],
            "at": format_timestamp(self.clock()),
            "reason": f"botfleetctl rollback by {result['by']}: {result['unit']} {how} after {result['seconds']:.1f}s",
            "by": result["by"],
        }
        try:
            with store.lock():
                state = store.read_state()
                apply_verdict(state, entry, {}, store.current())
                store.write_state(state)
        except (OSError, ReleaseError) as exc:
            self.warnings.append(f"the verdict was not recorded in {store.state_file}: {exc}")


# -- text ---------------------------------------------------------------------------------------------------------


def versions_text(release):
    """'webex-bot 1.3.1, websockets 16.1' for the pinned packages (all when the release names no pins)."""
    if not release:
        return "-"
    versions = release.get("versions") or {}
    names = [name for name in release.get("pinned") or [] if name in versions] or sorted(versions)
    text = ", ".join(f"{name} {versions[name]}" for name in names) or "-"
    if release.get("commit"):
        text += f", commit {str(release['commit'])[:12]}"
    return text


def verdict_text(verdict, now):
    reason = str(verdict.get("reason") or "")
    detail = f": {reason[:80]}" if reason else ""
    return f"{verdict.get('event')} {verdict.get('verdict')} {age(verdict.get('at'), now)}{detail}"


def unit_text(unit):
    if "error" in unit:
        return unit["error"]
    parts = [f"{unit.get('active_state', '?')}/{unit.get('sub_state', '?')}"]
    if unit.get("uptime") is not None:
        parts.append(f"up {human_duration(unit['uptime'])}")
    if unit.get("restarts") is not None:
        parts.append(f"{unit['restarts']} restarts")
    pending = unit.get("newer_packages", []) + unit.get("switched_links", []) + unit.get("newer_files", [])
    parts.append(
        f"restart pending ({', '.join(pending)} changed since it started)"
        if unit.get("restart_pending")
        else "no restart pending"
    )
    return ", ".join(parts)


def lease_text(bot, lease):
    if not lease:
        return "none"
    if "error" in lease:
        return lease["error"]
    return describe(bot, lease)


def status_lines(entry, now):
    if "error" in entry:
        return [entry["bot"], f"  error       {entry['error']}"]
    release = entry["current_release"]
    built = f", built {release['created']}" if release and release.get("created") else ""
    canary = entry.get("canary")
    lines = [
        f"{entry['bot']}",
        f"  release     {entry['release'] or 'none'}{built} (previous {entry['previous'] or 'none'})",
        f"  versions    {versions_text(release)}",
        f"  unit        {entry['unit'].get('unit')}: {unit_text(entry['unit'])}",
        "  canary      "
        + (f"{canary.get('verdict')} on {canary.get('release')} {age(canary.get('at'), now)}" if canary else "none"),
        f"  lease       {lease_text(entry['bot'], entry['lease'])}",
    ]
    verdicts = entry.get("verdicts") or []
    lines.append("  verdicts    " + (verdict_text(verdicts[0], now) if verdicts else "none"))
    lines += [f"              {verdict_text(verdict, now)}" for verdict in verdicts[1:]]
    return lines


def history_line(entry):
    at = entry.get("at") or "?"
    if entry["kind"] == "verdict":
        reason = f": {entry['reason']}" if entry.get("reason") else ""
        return f"{at}  {entry.get('event')} {entry.get('verdict')} on {entry.get('release')}{reason}"
    event = entry.get("event")
    text = f"{at}  {event}"
    if entry.get("release"):
        text += f" {entry['release']}"
    if entry.get("from"):
        text += f" (from {entry['from']})"
    if entry.get("releases"):
        text += " " + ", ".join(entry["releases"])
    if entry.get("by"):
        by = entry["by"]
        text += f" by {by.get('user')} ({by.get('playbook') or 'a run'})" if isinstance(by, dict) else f" by {by}"
    if entry.get("via"):
        text += f" with {entry['via']}"
    if entry.get("reason"):
        text += f": {entry['reason']}"
    return text


def release_line(info):
    marks = [mark for mark, flag in (("current", info["current"]), ("previous", info["previous"])) if flag]
    mark = f"  [{', '.join(marks)}]" if marks else ""
    return f"{info['id']}  {info.get('created') or '?'}  {versions_text(info)}{mark}"


def rollback_line(result):
    if not result["switched"] and not result.get("restarted"):
        return f"{result['bot']} already runs release {result['to']}: nothing was switched"
    moved = (
        f"{result['bot']}: rolled back from {result['from'] or 'nothing'} ({versions_text(result['from_release'])}) "
        f"to {result['to']} ({versions_text(result['to_release'])}) by {result['by']}"
    )
    if result["ok"]:
        up = f"up {result['stable']:g}s without a restart"
        return f"{moved}; {result['unit']} active, {up}, {result['seconds']:.1f}s in all"
    return (
        f"{moved}; but {result['reason']} after {result['seconds']:.1f}s. The bot runs release {result['to']}: "
        f"journalctl -u {result['unit']} says why; botfleetctl rollback {result['bot']} --to {result['from']} "
        "goes back"
    )


# -- command line -------------------------------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    """argparse that reports errors with exit code EXIT_USAGE (its own default too) and no traceback."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"botfleetctl: {message}\n")


def parser():
    top = Parser(
        prog="botfleetctl",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="botfleetctl [--json] {status,history,releases,rollback} ...",
    )
    top.add_argument("--json", action="store_true", help="print JSON instead of text")
    commands = top.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    status = commands.add_parser("status", help="release, versions, unit, canary mark, verdicts and lease per bot")
    status.add_argument("bots", nargs="*", metavar="BOT")
    history = commands.add_parser("history", help="the bot's deployment journal, newest first")
    history.add_argument("bot", metavar="BOT")
    history.add_argument("--limit", type=int, default=0, help="show the N newest entries only")
    releases = commands.add_parser("releases", help="the releases kept on this host")
    releases.add_argument("bot", metavar="BOT")
    rollback = commands.add_parser("rollback", help="switch the bot back to its previous release (root)")
    rollback.add_argument("bot", metavar="BOT")
    rollback.add_argument("--to", metavar="RELEASE", help="the release to switch to (default: the previous one)")
    rollback.add_argument("--timeout", type=float, default=60, help="seconds to wait for the unit (default 60)")
    rollback.add_argument(
        "--stable", type=float, default=2, help="seconds the unit must stay up to count as active (default 2)"
    )
    rollback.add_argument(
        "--break-lease", action="store_true", help="take over an expired lease, or one of a botfleetctl that is gone"
    )
    for sub in (status, history, releases, rollback):
        sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON instead of text")
    return top


def dispatch(args, host, environ, euid):
    """Run the command; returns (exit code, JSON document, text lines)."""
    now = host.clock()
    if args.command == "status":
        if args.bots:
            # Named bots must be bots of this host: a typo is a usage error, not an empty status.
            for bot in args.bots:
                host.store(bot)
        code, entries, lines = EXIT_OK, [], []
        for bot in args.bots or host.bots():
            try:
                entry = host.status(bot)
            except CtlError as exc:
                # One bot's damaged state file does not hide the others at 3 a.m.
                code = max(code, exc.code)
                entry = {"bot": bot, "error": str(exc)}
            entries.append(entry)
            lines += [*status_lines(entry, now), ""]
        return code, {entry["bot"]: entry for entry in entries}, lines[:-1] or ["no bots on this host"]
    if args.command == "history":
        entries = host.history(args.bot)
        if args.limit > 0:
            entries = entries[: args.limit]
        return EXIT_OK, entries, [history_line(entry) for entry in entries] or [f"{args.bot} has no history yet"]
    if args.command == "releases":
        listed = host.releases(args.bot)
        return EXIT_OK, listed, [release_line(info) for info in listed] or [f"{args.bot} has no release yet"]
    if euid != 0:
        raise CtlError(
            f"rollback changes the bot: run it as root (sudo botfleetctl rollback {args.bot})", EXIT_PERMISSION
        )
    if args.timeout <= 0 or args.stable < 0:
        raise CtlError("--timeout must be more than 0 seconds and --stable 0 or more", EXIT_USAGE)
    result = host.rollback(
        args.bot,
        args.to,
        invoking_user(environ, os.getuid()),
        timeout=args.timeout,
        stable=args.stable,
        break_lease=args.break_lease,
    )
    return (EXIT_OK if result["ok"] else EXIT_FAILED), result, [rollback_line(result)]


def main(argv=None, paths=None, host=None, environ=None, euid=None, out=None, err=None):
    """botfleetctl; returns its exit code. Writes to ``out`` and ``err`` (stdout and stderr)."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = parser().parse_args(argv)
    host = host or Host(paths)
    try:
        code, document, lines = dispatch(
            args, host, os.environ if environ is None else environ, os.geteuid() if euid is None else euid
        )
    except CtlError as exc:
        if args.json:
            out.write(json.dumps({"error": str(exc), "exit": exc.code}) + "\n")
        err.write(f"botfleetctl: {exc}\n")
        return exc.code
    except (OSError, ReleaseError, LeaseError) as exc:
        err.write(f"botfleetctl: {exc}\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        err.write("botfleetctl: interrupted\n")
        return 130
    out.write((json.dumps(document, indent=2, sort_keys=True) if args.json else "\n".join(lines)) + "\n")
    for warning in host.warnings:
        err.write(f"botfleetctl: warning: {warning}\n")
    return code
