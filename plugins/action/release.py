# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""release: validate on the controller; build aside, check with packaging, then commit or discard."""

from __future__ import annotations

from ansible.errors import AnsibleError

from ansible_collections.botfleet.deploy.plugins.module_utils.scrub import Scrubber, record_secrets
from ansible_collections.botfleet.deploy.plugins.module_utils.specs import release_spec
from ansible_collections.botfleet.deploy.plugins.plugin_utils.action import BotfleetAction, ModuleFailed
from ansible_collections.botfleet.deploy.plugins.plugin_utils.pins import (
    PinError,
    canonical_names,
    evaluate_pins,
    find_conflicts,
    installed_versions,
    normalized_requirements,
    parse_hashes,
    parse_pins,
    refusal_message,
    split_conflicts,
)
from ansible_collections.botfleet.deploy.plugins.plugin_utils.secrets import SECRET_VARIABLES, host_secrets

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
        except PinError as exc:
            return dict(result, failed=True, msg=str(exc))
        if args["state"] == "recorded" and not args.get("record"):
            return dict(result, failed=True, msg="state=recorded needs record")
        if args["state"] == "built" and not pins:
            return dict(result, failed=True, msg="state=built needs pins")
        if args["keep"] < 1:
            return dict(result, failed=True, msg=f"keep={args['keep']}: keep at least 1 release")
        redact = [*args["redact"], *self._host_secrets(task_vars)]
        module_args = dict(
            {key: value for key, value in args.items() if value is not None},
            pins={name: str(pin.specifier) for name, pin in pins.items()},
            requirements=requirements,
            allow_conflicts=allowed,
            hashes=hashes,
            redact=redact,
        )
        try:
            if args["state"] == "built":
                result.update(self._build(module_args, pins, allowed, task_vars))
            else:
                result.update(self.run_module(MODULE, module_args, task_vars))
        except ModuleFailed as exc:
            result.update(exc.result)
        return Scrubber(record_secrets(redact))(result)

    def _host_secrets(self, task_vars):
        """The host's secrets (plugin_utils/secrets.py), templated, so that a verdict recorded without redact
        is scrubbed too."""
        variables = {}
        for name in SECRET_VARIABLES:
            if name in (task_vars or {}):
                try:
                    variables[name] = self._templar.template(task_vars[name])
                except AnsibleError:
                    # Undefined parts fail the tasks that use them; bookkeeping must not fail on them.
                    continue
        return host_secrets(variables)

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
