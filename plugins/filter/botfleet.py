# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of botfleet.deploy; their documentation is in the YAML files next to this one."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.botfleet.deploy.plugins.module_utils.scrub import BEARER, Scrubber, record_secrets
from ansible_collections.botfleet.deploy.plugins.module_utils.validate import role_value_problems
from ansible_collections.botfleet.deploy.plugins.plugin_utils.adopt import adoption_line, adoption_plan
from ansible_collections.botfleet.deploy.plugins.plugin_utils.canary import canary_check, canary_line
from ansible_collections.botfleet.deploy.plugins.plugin_utils.drift import deployment_drift
from ansible_collections.botfleet.deploy.plugins.plugin_utils.gate import gate_verdict
from ansible_collections.botfleet.deploy.plugins.plugin_utils.hosts import host_facts
from ansible_collections.botfleet.deploy.plugins.plugin_utils.inputs import (
    env_problems,
    pin_problems,
    systemd_env_value,
)
from ansible_collections.botfleet.deploy.plugins.plugin_utils.provision import provision_line
from ansible_collections.botfleet.deploy.plugins.plugin_utils.report import status_report
from ansible_collections.botfleet.deploy.plugins.plugin_utils.rollback import (
    failure_reason,
    rollback_line,
    rollback_outcome,
)
from ansible_collections.botfleet.deploy.plugins.plugin_utils.rollout import (
    BatchError,
    rollout_batch_stop,
    rollout_batches,
    rollout_forks_line,
    rollout_line,
    rollout_refused,
    rollout_start_line,
    rollout_stop_reason,
    rollout_stopped_message,
    rollout_unreached,
)
from ansible_collections.botfleet.deploy.plugins.plugin_utils.soak import SoakRuleError, soak_verdict
from ansible_collections.botfleet.deploy.plugins.plugin_utils.status_page import status_html
from ansible_collections.botfleet.deploy.plugins.plugin_utils.times import DurationError, duration_seconds
from ansible_collections.botfleet.deploy.plugins.plugin_utils.watchdog import watchdog_config


def _as_filter(function, errors, prefix=""):
    """``function`` as a filter: the errors it raises for bad input become AnsibleFilterError, after ``prefix``."""

    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except errors as exc:
            raise AnsibleFilterError(f"{prefix}{exc}") from exc

    run.__doc__ = function.__doc__
    return run


_duration_seconds = _as_filter(duration_seconds, DurationError)
_canary_check = _as_filter(canary_check, DurationError, "botfleet_canary_soak: ")
_canary_line = _as_filter(canary_line, ValueError)
_rollout_batches = _as_filter(lambda batches, count: rollout_batches(batches, int(count)), BatchError)
_soak_verdict = _as_filter(soak_verdict, SoakRuleError, "soak_verdict: ")


def unit_value_problems(values, secrets=None):
    """Problems of the bot role's variables that reach its unit and paths (module_utils/validate.py)."""
    if not isinstance(values, dict):
        raise AnsibleFilterError("unit_value_problems expects a mapping of role variable name to value")
    secret_keys = list(secrets) if isinstance(secrets, (dict, list, tuple)) else []
    try:
        return role_value_problems(values, secret_keys)
    except ValueError as exc:
        raise AnsibleFilterError(f"unit_value_problems: {exc}") from exc


def scrub(value, secrets):
    """``value`` with every one of ``secrets`` and every prefix of one of 8 characters or more masked."""
    return Scrubber(record_secrets(_flattened(secrets)), [BEARER])(value)


def _flattened(secrets):
    if isinstance(secrets, dict):
        secrets = list(secrets.values())
    if isinstance(secrets, (list, tuple)):
        return [secret for item in secrets for secret in _flattened(item)]
    return [] if secrets is None else [str(secrets)]


class FilterModule:
    def filters(self):
        return {
            "pin_problems": pin_problems,
            "env_problems": env_problems,
            "systemd_env_value": systemd_env_value,
            "gate_verdict": gate_verdict,
            "canary_check": _canary_check,
            "canary_line": _canary_line,
            "deployment_drift": deployment_drift,
            "duration_seconds": _duration_seconds,
            "status_report": status_report,
            "rollback_outcome": rollback_outcome,
            "failure_reason": failure_reason,
            "rollout_stop_reason": rollout_stop_reason,
            "rollout_line": rollout_line,
            "rollout_batches": _rollout_batches,
            "rollout_forks_line": rollout_forks_line,
            "rollout_start_line": rollout_start_line,
            "rollout_refused": rollout_refused,
            "rollout_unreached": rollout_unreached,
            "rollout_batch_stop": rollout_batch_stop,
            "rollout_stopped_message": rollout_stopped_message,
            "provision_line": provision_line,
            "rollback_line": rollback_line,
            "host_facts": host_facts,
            "unit_value_problems": unit_value_problems,
            "soak_verdict": _soak_verdict,
            "scrub": scrub,
            "watchdog_config": watchdog_config,
            "status_html": status_html,
            "adoption_plan": adoption_plan,
            "adoption_line": adoption_line,
        }
