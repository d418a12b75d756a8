# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The work of the release module on the target, one method per state, and of release_step, one per phase.

Building is split in phases so that the controller can check the staged venv
with the real ``packaging`` library before it becomes a release:

    inspect return the release interpreter's version and platform, for the controller to lock for
    stage   build releases/.staging-<id>-*/venv from the lock, smoke-test it, return its raw facts
    commit  move the staging directory into place as releases/<id>
    discard remove the staging directory (the controller refused it)

The release action plugin runs each phase as the internal module release_step (option ``phase``)
and passes the lock it resolved as ``lock``; the release id is the lock's content address. The
release module itself takes only the public options: a build never runs through it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time

from ansible_collections.botfleet.deploy.plugins.module_utils.build import BuildUser, BuildUserError, seal
from ansible_collections.botfleet.deploy.plugins.module_utils.health import restart_unit
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
    SOURCES_DIR,
    AlreadyRolledBack,
    NoPreviousRelease,
    ReleaseError,
    ReleaseStore,
    check_config_names,
    check_release_id,
    checked_source,
    clone_venv,
    compute_canary_id,
    compute_release_id,
    compute_venv_id,
    config_digests,
    interpreter_info,
    prune_plan,
    read_text,
    smoke_test,
    source_archives_to_prune,
    source_identity,
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
            if option not in self.params:
                continue  # release_step installs no unit
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
        """The release module: one state."""
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
        return self.finish()

    def run_step(self):
        """The release_step module: one phase of a build, as the release action drives it."""
        try:
            if self.params["phase"] == "inspect":
                self.result["interpreter"] = self.interpreter()
                return self.result
            {"stage": self.stage, "commit": self.commit, "discard": self.discard}[self.params["phase"]]()
        except ReleaseError as exc:
            self.module.fail_json(msg=self.scrub(str(exc)), **self.scrub(self.result))
        return self.finish()

    def finish(self):
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
        """The lock the controller resolved for this release (release_step's option lock), parsed."""
        if not self.params["lock"]:
            raise ReleaseError(
                "no lock was given: the release action resolves the pins into a lock on the controller; "
                "run botfleet.deploy.release as a task, not release_step alone"
            )
        try:
            return parse_lock(self.params["lock"])
        except LockError as exc:
            raise ReleaseError(str(exc)) from exc

    def target_id(self):
        """The release id named by release_id; the action computes it from the pins' lock when a task gives pins."""
        if not self.params["release_id"]:
            raise ReleaseError("give pins (and requirements) or a release_id")
        check_release_id(self.params["release_id"])
        return self.params["release_id"]

    def source(self):
        """The bot's code (option source), checked, or None for a release of packages only."""
        return checked_source(self.params["source"])

    def source_id(self):
        return source_identity(self.params["source"])[0]

    def installs_source(self):
        """Whether the bot's code is installed into the venv (botfleet_source_install), not only run from app/."""
        return source_identity(self.params["source"])[1]

    def venv_id(self, lock, python):
        return compute_venv_id(
            lock, python, self.params["allow_sdists"], self.source_id() if self.installs_source() else None
        )

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
        raise ReleaseError(
            "state=built runs through the release action (which resolves the lock and checks the build on the "
            "controller): run botfleet.deploy.release as a task"
        )

    def stage(self):
        interpreter = self.interpreter()
        unit_name = self.unit_name()
        config = self.params["config"] or {}
        lock = self.lock_entries()
        sdists = self.params["allow_sdists"]
        source = self.source()
        release_id = compute_release_id(lock, interpreter, config, sdists, self.source_id(), self.installs_source())
        venv_id = self.venv_id(lock, interpreter)
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
        if source:
            try:
                # Used now: the prune of another bot of this VM leaves a young archive alone.
                os.utime(source["archive"])
            except FileNotFoundError as exc:
                raise ReleaseError(
                    f"the source archive {source['archive']} is not on this host (another run pruned it since it was "
                    "copied?); nothing was built, run the playbook again to copy it anew"
                ) from exc
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
                if self.installs_source():
                    # The project is built from a copy of its tree the build user owns (builds write into it).
                    project = os.path.join(home, "project")
                    unpack_source(source["archive"], project, source["sha256"])
                    builder.give(project)
                    installer.install_project(venv, project)
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
            "venv_id": self.venv_id(lock, facts["python"]),
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
            "accepted_conflicts": self.params["accepted"],
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
            if self.installs_source():
                # The project installed into the venv from this code, by name, as the lock lists packages.
                record["source"]["installed"] = source["project"]["name"]
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
        staged = self.params["staged"] or ""
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
        if self.params["restart"] and changed:
            self.restart(release_id)

    def restart(self, release_id):
        """Restart the release's unit right after its switch, in the same call: a rollback's path to the
        first answer is one task shorter. systemd reloads first, since the switch installed the unit."""
        unit = self.store.installed_unit(release_id)[0] or f"botfleet-{self.store.bot}.service"
        rc, _out, err = self.module.run_command(["systemctl", "daemon-reload"])
        problem = f"systemctl daemon-reload failed: {err.strip()}" if rc != 0 else None
        problem = problem or restart_unit(self.module.run_command, unit)
        if problem:
            raise ReleaseError(
                f"{self.store.bot} was switched to {release_id}, but {unit} did not restart: {problem}; "
                f"see journalctl -u {unit}"
            )
        self.result["restarted"] = unit

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
            if not self.module.check_mode:
                for name in remove + stale:
                    shutil.rmtree(os.path.join(self.store.releases_dir, name))
                if remove:
                    self.store.write_state(state, {"event": "pruned", "releases": remove})
        # After this bot's releases went: the VM's copies of source trees that no kept release of any bot holds.
        sources = source_archives_to_prune(self.params["root"])
        self.result["removed_sources"] = sources
        self.result["changed"] = self.result["changed"] or bool(sources)
        if self.module.check_mode:
            return
        for name in sources:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.params["root"], SOURCES_DIR, name))

    def record(self):
        """Append a verdict to state.json (deprecated here: the journal module does it)."""
        self.module.deprecate(
            "release state=recorded is deprecated; record verdicts with botfleet.deploy.journal (same record option)",
            version="0.3.0",
            collection_name="botfleet.deploy",
        )
        entry = record_verdict(self.store, self.params["record"], self.module.check_mode)
        self.result.update(changed=True, recorded=entry)
