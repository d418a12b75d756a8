# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""release: validate and lock on the controller; build the lock aside, check it with packaging, commit or discard.

The build's phases run as the internal module release_step, so that its protocol options (phase, lock,
staged, accepted) are no options of release and stay out of its documentation.
"""

from __future__ import annotations

from ansible_collections.botfleet.deploy.plugins.module_utils.lock import (
    format_lock,
    lock_changes,
    lock_versions,
    versions_text,
)
from ansible_collections.botfleet.deploy.plugins.module_utils.release import (
    ReleaseError,
    compute_release_id,
    source_identity,
)
from ansible_collections.botfleet.deploy.plugins.module_utils.scrub import Scrubber, record_secrets
from ansible_collections.botfleet.deploy.plugins.module_utils.specs import release_spec, release_step_spec
from ansible_collections.botfleet.deploy.plugins.plugin_utils.action import BotfleetAction, ModuleFailed
from ansible_collections.botfleet.deploy.plugins.plugin_utils.lock import LockFailed, resolve_lock, restrict_hashes
from ansible_collections.botfleet.deploy.plugins.plugin_utils.pins import (
    PinError,
    canonical_names,
    evaluate_pins,
    find_conflicts,
    installed_versions,
    normalized_requirements,
    offline_problems,
    parse_hashes,
    parse_pins,
    refusal_message,
    split_conflicts,
)
from ansible_collections.botfleet.deploy.plugins.plugin_utils.source import (
    SourceError,
    code_text,
    commit_range,
    merge_requirements,
    prune_source_cache,
    requirement_lines,
    source_cache_dir,
)

MODULE = "botfleet.deploy.release"
# The build's phases (module_utils/release_manager.py), run by this action only.
STEP = "botfleet.deploy.release_step"
STEP_OPTIONS = frozenset(release_step_spec())
# What release took before its phases became release_step's; a task that still sets one is told why it fails.
PROTOCOL = ("_phase", "_lock", "_staged", "_accepted", *(name for name in STEP_OPTIONS if name not in release_spec()))


def step_args(module_args, phase, **protocol):
    """release_step's arguments: what a build needs of the task's (release_build_spec) and the phase's own."""
    return dict({key: value for key, value in module_args.items() if key in STEP_OPTIONS}, phase=phase, **protocol)


class ActionModule(BotfleetAction):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        internal = sorted(name for name in self._task.args if name in PROTOCOL)
        if internal:
            return dict(
                result,
                failed=True,
                msg=f"{', '.join(internal)}: not options of {MODULE}; a build's phases are internal to its action, "
                f"which runs {STEP} itself",
            )
        args = self.validated_args(release_spec())
        source = dict(args.get("source") or {})
        try:
            pins = parse_pins(args["pins"])
            # The code's own requirements join the lock; the pins win over what they say of a pinned package.
            source_lines = requirement_lines(
                "\n".join(source.pop("requirements", None) or []), "the source's requirements"
            )
            wanted = [*args["requirements"], *merge_requirements(source_lines, pins)]
            requirements = normalized_requirements(wanted)
            allowed = canonical_names(args["allow_conflicts"])
            hashes = parse_hashes(args["hashes"], pins)
            refused = offline_problems(wanted, args["find_links"]) if args["offline"] else []
        except (PinError, SourceError) as exc:
            return dict(result, failed=True, msg=str(exc))
        if refused:
            return dict(result, failed=True, msg="nothing ran: " + "; ".join(refused))
        if args["state"] == "recorded" and not args.get("record"):
            return dict(result, failed=True, msg="state=recorded needs record")
        if args["state"] == "built" and not pins:
            return dict(result, failed=True, msg="state=built needs pins")
        if args["keep"] < 1:
            return dict(result, failed=True, msg=f"keep={args['keep']}: keep at least 1 release")
        redact = [*args["redact"], *self.host_redact(task_vars)]
        module_args = dict(
            {key: value for key, value in args.items() if value is not None},
            pins={name: str(pin.specifier) for name, pin in pins.items()},
            requirements=requirements,
            allow_conflicts=allowed,
            allow_sdists=canonical_names(args["allow_sdists"]),
            hashes=hashes,
            redact=redact,
        )
        if source:
            module_args["source"] = source
        if args["state"] == "active" and not args.get("release_id") and not (pins or requirements):
            return dict(result, failed=True, msg="state=active needs pins (and requirements) or a release_id")
        try:
            if args["state"] == "built":
                lock, _interpreter = self._lock(module_args, pins, requirements, allowed, hashes, task_vars)
                result.update(self._build(module_args, pins, allowed, lock, task_vars))
            else:
                if args["state"] == "active" and not args.get("release_id"):
                    # The release of these pins: the content address of their lock on this host's interpreter.
                    lock, interpreter = self._lock(module_args, pins, requirements, allowed, hashes, task_vars)
                    module_args["release_id"] = self._release_id(module_args, lock, interpreter)
                result.update(self.run_module(MODULE, module_args, task_vars))
            if args["state"] == "pruned":
                result.update(self._prune_controller(args["source_cache_days"]))
        except LockFailed as exc:
            result.update(
                failed=True,
                changed=False,
                msg=f"release of {args['bot']} refused, nothing was built and nothing was switched: {exc}",
            )
        except ReleaseError as exc:
            result.update(failed=True, changed=False, msg=str(exc))
        except ModuleFailed as exc:
            result.update(exc.result)
        return Scrubber(record_secrets(redact))(result)

    @staticmethod
    def _release_id(module_args, lock, interpreter):
        """The id the build of this lock gets (release_step's stage phase computes the same)."""
        source_id, installed = source_identity(module_args.get("source"))
        return compute_release_id(
            lock, interpreter, module_args["config"], module_args["allow_sdists"], source_id, installed
        )

    def _prune_controller(self, days):
        """The controller's side of a prune: exported trees and mirrors no run used for ``days`` days."""
        try:
            removed = prune_source_cache(source_cache_dir(), days, dry_run=self._play_context.check_mode)
        except OSError as exc:
            # The bot's own prune is done; a cache that cannot be cleaned only warns.
            return {"warnings": [f"the controller's source cache was not pruned: {exc}"]}
        return {"removed_source_cache": removed, "changed": bool(removed)} if removed else {}

    def _lock(self, module_args, pins, requirements, allowed, hashes, task_vars):
        """Resolve the release's lock on the controller, for the target interpreter's version and platform.

        Returns the lock and that interpreter (as release_step's inspect phase reports it)."""
        inspected = self.run_module(STEP, step_args(module_args, "inspect"), task_vars)
        sources = {
            "offline": module_args["offline"],
            # The controller's copy of the wheelhouse the target installs from (find_links on the target).
            "find_links": module_args["controller_find_links"] or module_args["find_links"],
            "index_url": module_args.get("index_url"),
            "extra_index_urls": module_args["extra_index_urls"],
        }
        lock = resolve_lock(pins, requirements, allowed, inspected["interpreter"], sources, module_args["allow_sdists"])
        return restrict_hashes(lock, hashes), inspected["interpreter"]

    def _build(self, module_args, pins, allowed, lock, task_vars):
        lock_text = format_lock(lock)
        staged = self.run_module(STEP, step_args(module_args, "stage", lock=lock_text), task_vars)
        before = staged.pop("current_versions", None)
        before_source = staged.pop("current_source", None)
        after_source = module_args.get("source")
        after = lock_versions(lock)
        staged.update(lock=lock_text, lock_changes=lock_changes(before or {}, after))
        if before_source or after_source:
            staged["commit_range"] = commit_range(before_source, after_source)
        if self._task.diff and before is not None and (before != after or before_source != after_source):
            staged["diff"] = {
                "before_header": f"{module_args['bot']}: code and lock of the current release",
                "after_header": f"{module_args['bot']}: code and lock of release {staged['release_id']}",
                "before": code_text(before_source) + versions_text(before),
                "after": code_text(after_source) + versions_text(after),
            }
        if staged.get("exists") or self._play_context.check_mode:
            return staged
        facts = staged.pop("facts")
        problems, accepted = self._check(facts, pins, allowed, after)
        base = dict(module_args, release_id=staged["release_id"])
        protocol = {"lock": lock_text, "staged": staged.pop("staged")}
        if problems:
            self.run_module(STEP, step_args(base, "discard", **protocol), task_vars)
            staged.update(
                failed=True,
                changed=False,
                msg=f"release {staged['release_id']} of {module_args['bot']} refused, nothing was switched: "
                + ". ".join(problems),
            )
            return staged
        committed = self.run_module(STEP, step_args(base, "commit", accepted=accepted, **protocol), task_vars)
        committed.update(
            lock=staged["lock"],
            lock_changes=staged["lock_changes"],
            commands=staged.get("commands", []),
            installer=staged.get("installer"),
            accepted_conflicts=accepted,
            venv_id=staged["venv_id"],
            canary_id=staged["canary_id"],
        )
        for key in ("damaged", "diff", "commit_range", "venv_reused_from"):
            if staged.get(key):
                committed[key] = staged[key]
        return committed

    @staticmethod
    def _check(facts, pins, allowed, locked):
        versions = installed_versions(facts["distributions"])
        problems = [
            f"{entry['name']} wants {entry['wanted']}, installed {entry['installed'] or 'none'}"
            for entry in evaluate_pins(pins, versions).values()
            if not entry["satisfied"]
        ]
        problems += [
            f"{name} is locked at {version}, installed {versions.get(name) or 'none'}"
            for name, version in sorted(locked.items())
            if versions.get(name) != version
        ]
        refused, accepted = split_conflicts(
            find_conflicts(facts["distributions"], facts["marker_environment"]), allowed
        )
        if refused:
            problems.append(refusal_message(refused))
        return problems, [c.as_dict() for c in accepted]
