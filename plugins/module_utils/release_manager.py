# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release module's work on the target, one method per state.

Building is split in phases so that the controller can check the staged venv
with the real ``packaging`` library before it becomes a release:

    inspect return the release interpreter's version and platform, for the controller to lock for
    stage   build releases/.staging-<id>-*/venv from the lock, smoke-test it, return its raw facts
    commit  move the staging directory into place as releases/<id>
    discard remove the staging directory (the controller refused it)

The action plugin drives these phases through the hidden ``_phase`` option and passes the lock
it resolved through ``_lock``; the release id is the lock's content address.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time

from ansible_collections.botfleet.deploy.plugins.module_utils.build import BuildUser, BuildUserError, seal
from ansible_collections.botfleet.deploy.plugins.module_utils.installer import (
    Installer,
    InstallError,
    summarize,
)
from ansible_collections.botfleet.deploy.plugins.module_utils.journal import record_verdict
from ansible_collections.botfleet.deploy.plugins.module_utils.lock import (
    LOCK_FILE,
    LockError,
    format_lock,
    lock_digest,
    lock_versions,
    parse_lock,
)
from ansible_collections.botfleet.deploy.plugins.module_utils.release import (
    AlreadyRolledBack,
    NoPreviousRelease,
    ReleaseError,
    ReleaseStore,
    check_config_names,
    check_release_id,
    clone_venv,
    compute_canary_id,
    compute_release_id,
    compute_venv_id,
    config_digests,
    interpreter_info,
    prune_plan,
    read_text,
    smoke_test,
    unpack_source,
    verify_unit,
    write_json_atomic,
    write_text_atomic,
)
from ansible_collections.botfleet.deploy.plugins.module_utils.scrub import Scrubber, record_secrets
from ansible_collections.botfleet.deploy.plugins.module_utils.validate import absolute_path_problem
from ansible_collections.botfleet.deploy.plugins.module_utils.venv import format_timestamp, gather

STATES = ("built", "active", "rolled_back", "pruned", "recorded")
PHASES = ("inspect", "stage", "commit", "discard")
# Left in the staging directory by the stage phase for the commit phase.
BUILD_NOTE = ".build.json"
# What the source option carries (plugin_utils/source.py) and release.json keeps of it.
SOURCE_FIELDS = ("kind", "id", "commit", "short", "subject")


class ReleaseManager:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        for option in ("root", "state_dir", "unit_dir"):
            problem = absolute_path_problem(self.params[option], option)
            if problem is not None:
                module.fail_json(msg=problem, changed=False)
        # Verdicts quote failures (a probe's answer): messages, results and records are scrubbed of these.
        self.scrub = Scrubber(record_secrets(self.params["redact"]))
        try:
            self.store = ReleaseStore(
                self.params["root"], self.params["state_dir"], self.params["bot"], self.params["lock_timeout"]
            )
        except ReleaseError as exc:
            module.fail_json(msg=self.scrub(str(exc)))
        self.store.scrub = self.scrub
        self.store.state_group = self.params["state_group"]
        self.result = {"changed": False, "bot": self.params["bot"]}

    def run(self):
        if self.params["_phase"] == "inspect":
            try:
                self.result["interpreter"] = self.interpreter()
            except ReleaseError as exc:
                self.module.fail_json(msg=str(exc), **self.result)
            return self.result
        try:
            handler = {
                "built": self.built,
                "active": self.activate,
                "rolled_back": self.roll_back,
                "pruned": self.prune,
                "recorded": self.record,
            }[self.params["state"]]
            handler()
        except ReleaseError as exc:
            self.module.fail_json(msg=self.scrub(str(exc)), **self.scrub(self.result))
        self.result.setdefault("current_id", self.store.current())
        try:
            self.result["canary"] = self.store.read_state().get("canary")
        except ReleaseError:
            self.result["canary"] = None
        return self.scrub(self.result)

    # -- identity -----------------------------------------------------------------------------------------------

    def interpreter(self):
        python = self.params["python"]
        if not os.path.isabs(python):
            found = self.module.get_bin_path(python, required=False)
            if not found:
                raise ReleaseError(f"python {python!r} is not on PATH of this host; set python to an interpreter path")
            python = found
        return interpreter_info(self.module.run_command, python)

    def lock_entries(self):
        """The lock the controller resolved for this release (hidden option _lock), parsed."""
        if not self.params["_lock"]:
            raise ReleaseError(
                "no lock was given: the release action resolves the pins into a lock on the controller; "
                "run botfleet.deploy.release as a task, not its module alone"
            )
        try:
            return parse_lock(self.params["_lock"])
        except LockError as exc:
            raise ReleaseError(str(exc)) from exc

    def target_id(self):
        """The release id named by release_id, or the content address of the lock of the given pins and config."""
        if self.params["release_id"]:
            check_release_id(self.params["release_id"])
            return self.params["release_id"]
        if not self.params["pins"] and not self.params["requirements"]:
            raise ReleaseError("give pins (and requirements) or a release_id")
        return compute_release_id(
            self.lock_entries(),
            self.interpreter(),
            self.params["config"],
            self.params["allow_sdists"],
            self.source_id(),
        )

    def source(self):
        """The bot's code (option source), checked, or None for a release of packages only."""
        source = self.params["source"]
        if not source:
            return None
        missing = [key for key in ("id", "archive", "sha256", "kind") if not source.get(key)]
        if missing:
            raise ReleaseError(
                f"source lacks {', '.join(missing)}; give what the botfleet.deploy.source lookup returns, "
                "with archive set to the archive's path on this host"
            )
        return source

    def source_id(self):
        source = self.source()
        return source["id"] if source else None

    def release_source(self, release_id):
        """The source a release recorded (kind, id, commit, short, subject), or None."""
        try:
            source = self.store.read_release(release_id).get("source") if release_id else None
        except (OSError, ValueError):
            return None
        return source if isinstance(source, dict) else None

    def reusable_venv(self, venv_id):
        """The venv of a whole release with the same venv id (its code or configuration differs), or None."""
        for release_id, _created in reversed(self.store.releases()):
            try:
                if self.store.read_release(release_id).get("venv_id") == venv_id:
                    return release_id
            except (OSError, ValueError):
                continue
        return None

    def current_versions(self):
        """{name: version} of the release current points at: its lock, or what an older release recorded."""
        current = self.store.current()
        if not current:
            return None
        try:
            text = read_text(os.path.join(self.store.path(current), LOCK_FILE))
            if text is not None:
                return lock_versions(parse_lock(text))
            return dict(self.store.read_release(current).get("resolved") or {})
        except (OSError, ValueError):
            return None

    def unit_name(self):
        """The config file that is the bot's systemd unit, or None."""
        config = self.params["config"] or {}
        check_config_names(config)
        units = sorted(name for name in config if name.endswith(".service"))
        if len(units) > 1:
            raise ReleaseError(f"config holds {len(units)} unit files ({', '.join(units)}); a release has one")
        return units[0] if units else None

    def build_user(self):
        """Who builds and smoke-imports the release (module_utils/build.py)."""
        try:
            return BuildUser(self.params["build_user"], self.module.get_bin_path("setpriv", required=False))
        except BuildUserError as exc:
            raise ReleaseError(f"release of {self.store.bot} not built: {exc}") from exc

    def lock(self):
        """The bot's lock; check mode writes nothing, not even the lock file."""
        return contextlib.nullcontext() if self.module.check_mode else self.store.lock()

    def describe(self, release_id):
        # Not "path": AnsibleModule would add that file's owner and mode to the result.
        self.result.update(release_id=release_id, release_path=self.store.path(release_id))
        if self.store.is_complete(release_id):
            self.result["release"] = self.store.read_release(release_id)

    # -- states -------------------------------------------------------------------------------------------------

    def built(self):
        phase = self.params["_phase"] or "stage"
        if phase == "stage":
            self.stage()
        elif phase == "commit":
            self.commit()
        else:
            self.discard()

    def stage(self):
        interpreter = self.interpreter()
        unit_name = self.unit_name()
        config = self.params["config"] or {}
        lock = self.lock_entries()
        sdists = self.params["allow_sdists"]
        source = self.source()
        release_id = compute_release_id(lock, interpreter, config, sdists, self.source_id())
        venv_id = compute_venv_id(lock, interpreter, sdists)
        self.result["venv_id"] = venv_id
        self.result["canary_id"] = compute_canary_id(venv_id, self.source_id())
        self.result["current_versions"] = self.current_versions()
        self.result["current_source"] = self.release_source(self.store.current())
        self.describe(release_id)
        damaged = self.store.problems(release_id)
        if not damaged:
            self.result["exists"] = True
            return
        self.result["exists"] = False
        if os.path.lexists(self.store.path(release_id)):
            # Built once, then damaged (a venv deleted, a file changed): built again, whole.
            self.result["damaged"] = damaged
        if self.module.check_mode:
            self.result["changed"] = True
            return
        staging = self.store.new_staging(release_id)
        venv = os.path.join(staging, "venv")
        installer = Installer.from_params(self.module, self.params)
        reused = self.reusable_venv(venv_id)
        self.result["installer"] = installer.name
        try:
            builder = self.build_user()
            home = builder.prepare(staging)
            as_builder = builder.run_command(self.module, staging)
            installer.run_command = as_builder
            if reused:
                # Only the code or the configuration differ: the same lock on the same interpreter, no install.
                clone_venv(os.path.join(self.store.path(reused), "venv"), venv)
                self.result.update(installer=None, venv_reused_from=reused)
            else:
                lock_file = os.path.join(home, LOCK_FILE)
                write_text_atomic(lock_file, format_lock(lock), 0o644)
                installer.create_venv(interpreter["executable"], venv)
                # Exactly the lock, hash-checked: a file that is not the one locked fails the build.
                installer.install_lock(venv, lock_file, list(lock), sdists)
            shutil.rmtree(home)
            if source:
                unpack_source(source["archive"], os.path.join(staging, "app"), source["sha256"])
            # Root's and read-only before any of its code runs: the import below cannot change the release.
            seal(staging)
            os.chmod(staging, 0o755)  # noqa: S103 - the build user imports from it, the bot's user runs it
            write_text_atomic(os.path.join(staging, LOCK_FILE), format_lock(lock), 0o644)
            failure = smoke_test(as_builder, venv, self.params["smoke_imports"])
            if failure:
                raise ReleaseError(
                    "release {} of {} failed its import smoke test ({}): {}".format(
                        release_id, self.store.bot, ", ".join(self.params["smoke_imports"]), failure
                    )
                )
            for name, text in sorted(config.items()):
                write_text_atomic(os.path.join(staging, name), text, 0o644)
            if unit_name:
                failure = verify_unit(
                    self.module.run_command, os.path.join(staging, unit_name), self.store.current_link, staging
                )
                if failure:
                    raise ReleaseError(
                        f"release {release_id} of {self.store.bot}: systemd refuses its unit {unit_name}: {failure}"
                    )
            # Read by the build user too: the venv's interpreter runs its packages' .pth files.
            facts = gather(as_builder, venv)
            write_json_atomic(
                os.path.join(staging, BUILD_NOTE),
                {
                    "installer": None if reused else installer.name,
                    "lock": lock_digest(lock),
                    "facts": facts,
                    "venv_reused_from": reused,
                },
            )
        except InstallError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            self.result["commands"] = installer.commands
            hint = ""
            if "hash" in exc.detail.lower():
                hint = (
                    " (a file differs from the one locked: the target's wheelhouse is not the controller's; "
                    "push it again)"
                )
            elif "permission denied" in exc.detail.lower():
                hint = (
                    f" (the build user {self.params['build_user']} must be able to read the interpreter and find_links)"
                )
            raise ReleaseError(
                f"building release {release_id} of {self.store.bot}: {exc} with {installer.name}: "
                f"{summarize(exc.detail)}; nothing was built and nothing was switched{hint}"
            ) from exc
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self.result.update(changed=True, staged=staging, facts=facts, commands=installer.commands)

    def commit(self):
        staging = self.staged_path()
        release_id = self.params["release_id"]
        check_release_id(release_id)
        note_path = os.path.join(staging, BUILD_NOTE)
        with open(note_path) as handle:
            note = json.load(handle)
        os.unlink(note_path)
        # What the stage phase read as the build user; nothing of the release runs as root.
        facts = note["facts"]
        config = self.params["config"] or {}
        lock = self.lock_entries()
        if note.get("lock") != lock_digest(lock):
            raise ReleaseError(f"the staging directory of release {release_id} was built from another lock")
        record = {
            "id": release_id,
            "venv_id": compute_venv_id(lock, facts["python"], self.params["allow_sdists"]),
            # sha256 of lock.txt: a release whose lock.txt changed is not whole.
            "lock": lock_digest(lock),
            "allow_sdists": self.params["allow_sdists"],
            "config": config_digests(config),
            "unit": self.unit_name(),
            "bot": self.store.bot,
            "created": format_timestamp(time.time()),
            "pins": self.params["pins"],
            "requirements": self.params["requirements"],
            "allow_conflicts": self.params["allow_conflicts"],
            "accepted_conflicts": self.params["_accepted"],
            "python": {
                "version": facts["python"]["version"],
                "implementation": facts["python"]["implementation"],
                "executable": os.path.join(self.store.path(release_id), "venv", "bin", "python"),
            },
            # Keyed by normalized name (webex-bot), as the probe lists them.
            "resolved": {name: dist["version"] for name, dist in sorted(facts["distributions"].items())},
            "installer": note.get("installer"),
        }
        source = self.source()
        if source:
            record["source"] = {key: source.get(key) for key in SOURCE_FIELDS}
        if note.get("venv_reused_from"):
            record["venv_reused_from"] = note["venv_reused_from"]
        with self.store.lock():
            created = self.store.commit(staging, release_id, self.scrub(record))
            if created:
                state = self.store.read_state()
                built = {"event": "built", "release": release_id}
                if self.store.code(release_id):
                    built["commit"] = self.store.code(release_id)
                self.store.write_state(state, built)
        self.result.update(changed=created, built=created)
        self.describe(release_id)

    def discard(self):
        shutil.rmtree(self.staged_path(), ignore_errors=True)
        self.result["changed"] = False

    def staged_path(self):
        staged = self.params["_staged"] or ""
        parent = os.path.realpath(os.path.dirname(staged))
        if parent != os.path.realpath(self.store.releases_dir) or not os.path.basename(staged).startswith(".staging-"):
            raise ReleaseError(f"{staged!r} is not a staging directory of {self.store.bot}")
        return staged

    def activate(self):
        self.switch_to(self.target_id(), "activated")

    def roll_back(self):
        state = self.store.read_state()
        # Read as the store will see it under the lock: a run that died mid-switch is repaired first.
        self.store.reconcile(state)
        try:
            target = self.store.rollback_target(
                state, self.params["release_id"], "release_id, or botfleet_rollback_to in rollback.yml"
            )
        except AlreadyRolledBack as exc:
            self.describe(exc.entry["release"])
            self.result.update(
                switched=False, already_rolled_back=True, previous_id=exc.entry.get("from"), msg=str(exc)
            )
            return
        except NoPreviousRelease:
            self.result["no_previous"] = True
            raise
        self.switch_to(target, "rolled_back")

    def switch_to(self, release_id, event):
        self.describe(release_id)
        if self.module.check_mode:
            self.plan_switch(release_id)
            return
        with self.store.lock():
            outcome = self.store.activate(release_id, event, self.params["unit_dir"])
        changed = outcome["switched"] or outcome["unit_changed"] or bool(outcome["repaired"])
        self.result.update(
            changed=changed,
            switched=outcome["switched"],
            unit_changed=outcome["unit_changed"],
            previous_id=outcome["previous"],
            current_id=release_id,
        )
        if outcome["repaired"]:
            self.result["warnings"] = [f"{self.store.bot}: repaired: {reason}" for reason in outcome["repaired"]]
        if outcome["switched"] and self.module._diff:
            self.result["diff"] = self.switch_diff(outcome["previous"], release_id)

    def plan_switch(self, release_id):
        """Check mode: what a switch would do, read without the lock and without writing."""
        current = self.store.current()
        problems = self.store.problems(release_id)
        self.result.update(previous_id=current, switched=current != release_id, current_id=release_id)
        self.result["changed"] = current != release_id
        if problems and os.path.lexists(self.store.path(release_id)):
            raise ReleaseError(f"release {release_id} of {self.store.bot} is not whole: {'; '.join(problems)}")
        if problems:
            # In check mode the build before this switch did not run either.
            self.result["warnings"] = [f"release {release_id} is not built yet; a real run builds it first"]
        if current != release_id and self.module._diff:
            self.result["diff"] = self.switch_diff(current, release_id)

    def switch_diff(self, before, after):
        return {
            "before_header": self.store.current_link,
            "after_header": self.store.current_link,
            "before": f"releases/{before}\n" if before else "",
            "after": f"releases/{after}\n",
        }

    def prune(self):
        with self.lock():
            state = self.store.read_state()
            protected = {self.store.current(), state.get("previous")}
            remove = prune_plan(self.store.releases(), self.params["keep"], protected)
            stale = self.store.stale_staging()
            self.result.update(removed=remove, removed_staging=stale, changed=bool(remove or stale))
            if self.module.check_mode or not (remove or stale):
                return
            for name in remove + stale:
                shutil.rmtree(os.path.join(self.store.releases_dir, name))
            if remove:
                self.store.write_state(state, {"event": "pruned", "releases": remove})

    def record(self):
        """Append a verdict to state.json (deprecated here: the journal module does it)."""
        self.module.deprecate(
            "release state=recorded is deprecated; record verdicts with botfleet.deploy.journal (same record option)",
            version="0.3.0",
            collection_name="botfleet.deploy",
        )
        entry = record_verdict(self.store, self.params["record"], self.module.check_mode)
        self.result.update(changed=True, recorded=entry)
