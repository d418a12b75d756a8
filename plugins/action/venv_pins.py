# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""venv_pins: validate and plan on the controller, install on the target, verify on the controller."""

from __future__ import annotations

from ansible_collections.botfleet.deploy.plugins.module_utils.specs import venv_pins_spec
from ansible_collections.botfleet.deploy.plugins.plugin_utils.action import BotfleetAction, ModuleFailed
from ansible_collections.botfleet.deploy.plugins.plugin_utils.facts import venv_report, versions_text
from ansible_collections.botfleet.deploy.plugins.plugin_utils.pins import (
    PinError,
    canonical_names,
    find_conflicts,
    installed_versions,
    offline_problems,
    parse_hashes,
    parse_pins,
    parse_requirements,
    plan,
    refusal_message,
    requirement_changes,
    split_conflicts,
)

FACTS = "botfleet.deploy.bot_facts"


class ActionModule(BotfleetAction):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validated_args(venv_pins_spec())
        try:
            pins = parse_pins(args["pins"])
            requirements = parse_requirements(args["requirements"])
            allowed = canonical_names(args["allow_conflicts"])
            hashes = parse_hashes(args["hashes"], pins)
            refused = offline_problems(args["requirements"], args["find_links"]) if args["offline"] else []
        except PinError as exc:
            return dict(result, failed=True, msg=str(exc))
        if refused:
            return dict(result, failed=True, msg="nothing ran: " + "; ".join(refused))
        if not pins:
            return dict(result, failed=True, msg="pins is empty; give at least one package: version")

        try:
            return self._converge(result, args, pins, requirements, allowed, hashes, task_vars)
        except ModuleFailed as exc:
            return dict(result, **exc.result)

    def _converge(self, result, args, pins, requirements, allowed, hashes, task_vars):
        path = args["path"]
        before = self.run_module(FACTS, {"path": path}, task_vars)
        versions = installed_versions(before["distributions"])
        changes = plan(pins, versions) + requirement_changes(requirements, versions)
        result.update(plan=changes, created=False, installer=None, conflicts=[])
        if not before["exists"] and not args["create"]:
            return dict(result, failed=True, msg=f"{path} does not exist and create=false")

        if changes or not before["exists"]:
            if self._task.diff:
                after_versions = dict(versions)
                after_versions.update({c["name"]: c["after"] for c in changes})
                result["diff"] = {
                    "before_header": path,
                    "after_header": path,
                    "before": versions_text(pins, versions) if before["exists"] else "",
                    "after": versions_text(pins, after_versions),
                }
            if self._play_context.check_mode:
                result.update(changed=True, created=not before["exists"])
                result["versions"] = {name: versions.get(name) for name in sorted(pins)}
                return result
            module_args = dict(
                args,
                pins={name: str(pin.specifier) for name, pin in pins.items()},
                requirements=requirements,
                allow_conflicts=allowed,
                hashes=hashes,
            )
            try:
                installed = self.run_module("botfleet.deploy.venv_pins", module_args, task_vars)
            except ModuleFailed as exc:
                failure = dict(result, **exc.result)
                if "depends on" in failure.get("stderr", "") or "conflict" in failure.get("stderr", "").lower():
                    failure["msg"] += (
                        ". Nothing was installed. If this declared-requirement conflict is intended, "
                        "add the package to allow_conflicts"
                    )
                raise ModuleFailed(failure) from exc
            result.update(
                changed=True,
                installer=installed["installer"],
                commands=installed["commands"],
                created=installed["created"],
            )
            after = self.run_module(FACTS, {"path": path}, task_vars)
        else:
            after = before

        return self._verify(result, after, pins, allowed)

    def _verify(self, result, facts, pins, allowed):
        report = venv_report(facts, pins)
        versions = installed_versions(facts["distributions"])
        result["versions"] = {name: versions.get(name) for name in sorted(pins)}
        unsatisfied = [
            f"{p['name']} wants {p['wanted']}, installed {p['installed'] or 'none'}"
            for p in report["pins"].values()
            if not p["satisfied"]
        ]
        refused, accepted = split_conflicts(
            find_conflicts(facts["distributions"], facts["marker_environment"]), allowed
        )
        result["conflicts"] = [c.as_dict() for c in accepted]
        problems = []
        if unsatisfied:
            problems.append("pins not satisfied after installing: " + "; ".join(unsatisfied))
        if refused:
            problems.append(refusal_message(refused))
        if problems:
            result.update(
                failed=True,
                msg=f"{facts['path']}: " + ". ".join(problems),
                refused_conflicts=[c.as_dict() for c in refused],
            )
        return result
