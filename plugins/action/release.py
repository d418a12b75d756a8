# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""release: validate and lock on the controller; build the lock aside, check it with packaging, commit or discard."""

from __future__ import annotations

from ansible_collections.botfleet.deploy.plugins.module_utils.lock import (
    format_lock,
    lock_changes,
    lock_versions,
    versions_text,
)
from ansible_collections.botfleet.deploy.plugins.module_utils.scrub import Scrubber, record_secrets
from ansible_collections.botfleet.deploy.plugins.module_utils.specs import release_spec
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
    requirement_lines,
)

MODULE = "botfleet.deploy.release"


class ActionModule(BotfleetAction):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validated_args(release_spec())
        if any(args.get(hidden) for hidden in ("_phase", "_staged", "_accepted", "_lock")):
            return dict(result, failed=True, msg="options starting with _ are internal to the release action")
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
        try:
            if args["state"] == "built" or (args["state"] == "active" and not args.get("release_id")):
                lock = self._lock(module_args, pins, requirements, allowed, hashes, task_vars)
                module_args["_lock"] = format_lock(lock)
            if args["state"] == "built":
                result.update(self._build(module_args, pins, allowed, lock, task_vars))
            else:
                result.update(self.run_module(MODULE, module_args, task_vars))
        except LockFailed as exc:
            result.update(
                failed=True,
                changed=False,
                msg=f"release of {args['bot']} refused, nothing was built and nothing was switched: {exc}",
            )
        except ModuleFailed as exc:
            result.update(exc.result)
        return Scrubber(record_secrets(redact))(result)

    def _lock(self, module_args, pins, requirements, allowed, hashes, task_vars):
        """Resolve the release's lock on the controller, for the target interpreter's version and platform."""
        inspected = self.run_module(MODULE, dict(module_args, _phase="inspect"), task_vars)
        sources = {
            "offline": module_args["offline"],
            # The controller's copy of the wheelhouse the target installs from (find_links on the target).
            "find_links": module_args["controller_find_links"] or module_args["find_links"],
            "index_url": module_args.get("index_url"),
            "extra_index_urls": module_args["extra_index_urls"],
        }
        lock = resolve_lock(pins, requirements, allowed, inspected["interpreter"], sources, module_args["allow_sdists"])
        return restrict_hashes(lock, hashes)

    def _build(self, module_args, pins, allowed, lock, task_vars):
        staged = self.run_module(MODULE, dict(module_args, _phase="stage"), task_vars)
        before = staged.pop("current_versions", None)
        before_source = staged.pop("current_source", None)
        after_source = module_args.get("source")
        after = lock_versions(lock)
        staged.update(lock=module_args["_lock"], lock_changes=lock_changes(before or {}, after))
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
        base = dict(module_args, release_id=staged["release_id"], _staged=staged.pop("staged"))
        if problems:
            self.run_module(MODULE, dict(base, _phase="discard"), task_vars)
            staged.update(
                failed=True,
                changed=False,
                msg=f"release {staged['release_id']} of {module_args['bot']} refused, nothing was switched: "
                + ". ".join(problems),
            )
            return staged
        committed = self.run_module(MODULE, dict(base, _phase="commit", _accepted=accepted), task_vars)
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
