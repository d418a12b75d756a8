# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""release: validate on the controller; build aside, check with packaging, then commit or discard."""

from __future__ import annotations

from ansible_collections.botfleet.deploy.plugins.module_utils.specs import release_spec
from ansible_collections.botfleet.deploy.plugins.plugin_utils.action import BotfleetAction, ModuleFailed
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

MODULE = "botfleet.deploy.release"


class ActionModule(BotfleetAction):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validated_args(release_spec())
        if any(args.get(hidden) for hidden in ("_phase", "_staged", "_accepted")):
            return dict(result, failed=True, msg="options starting with _ are internal to the release action")
        try:
            pins = parse_pins(args["pins"])
            requirements = normalized_requirements(args["requirements"])
            allowed = canonical_names(args["allow_conflicts"])
            hashes = parse_hashes(args["hashes"], pins)
            refused = offline_problems(args["requirements"], args["find_links"]) if args["offline"] else []
        except PinError as exc:
            return dict(result, failed=True, msg=str(exc))
        if refused:
            return dict(result, failed=True, msg="nothing ran: " + "; ".join(refused))
        if args["state"] == "recorded" and not args.get("record"):
            return dict(result, failed=True, msg="state=recorded needs record")
        if args["state"] == "built" and not pins:
            return dict(result, failed=True, msg="state=built needs pins")
        if args["keep"] < 1:
            return dict(result, failed=True, msg=f"keep={args['keep']}: keep at least 1 release")
        module_args = dict(
            {key: value for key, value in args.items() if value is not None},
            pins={name: str(pin.specifier) for name, pin in pins.items()},
            requirements=requirements,
            allow_conflicts=allowed,
            hashes=hashes,
        )
        try:
            if args["state"] == "built":
                result.update(self._build(module_args, pins, allowed, task_vars))
            else:
                result.update(self.run_module(MODULE, module_args, task_vars))
        except ModuleFailed as exc:
            result.update(exc.result)
        return result

    def _build(self, module_args, pins, allowed, task_vars):
        staged = self.run_module(MODULE, dict(module_args, _phase="stage"), task_vars)
        if staged.get("exists") or self._play_context.check_mode:
            return staged
        facts = staged.pop("facts")
        problems, accepted = self._check(facts, pins, allowed)
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
            commands=staged.get("commands", []),
            installer=staged.get("installer"),
            accepted_conflicts=accepted,
            venv_id=staged["venv_id"],
        )
        if staged.get("damaged"):
            committed["damaged"] = staged["damaged"]
        return committed

    @staticmethod
    def _check(facts, pins, allowed):
        versions = installed_versions(facts["distributions"])
        problems = [
            f"{entry['name']} wants {entry['wanted']}, installed {entry['installed'] or 'none'}"
            for entry in evaluate_pins(pins, versions).values()
            if not entry["satisfied"]
        ]
        refused, accepted = split_conflicts(
            find_conflicts(facts["distributions"], facts["marker_environment"]), allowed
        )
        if refused:
            problems.append(refusal_message(refused))
        return problems, [c.as_dict() for c in accepted]
