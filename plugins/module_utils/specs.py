# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by modules and their action plugins, defined once.

Each spec mirrors a documentation fragment in plugins/doc_fragments/; sanity's
validate-modules keeps the two in step.
"""

from __future__ import annotations

from ansible_collections.botfleet.deploy.plugins.module_utils.installer import INSTALLER_CHOICES
from ansible_collections.botfleet.deploy.plugins.module_utils.lease import LEASE_STATES
from ansible_collections.botfleet.deploy.plugins.module_utils.release_manager import PHASES, STATES


def installer_spec():
    """Options of the uv/pip engine (doc fragment botfleet.deploy.installer)."""
    return {
        "installer": {"type": "str", "default": "auto", "choices": list(INSTALLER_CHOICES)},
        "uv_path": {"type": "path"},
        "index_url": {"type": "str", "no_log": True},
        "extra_index_urls": {"type": "list", "elements": "str", "default": [], "no_log": True},
        "find_links": {"type": "list", "elements": "str", "default": []},
        "offline": {"type": "bool", "default": False},
        "hashes": {"type": "dict", "default": {}},
    }


def pins_extras_spec():
    """requirements and allow_conflicts (doc fragment botfleet.deploy.pins)."""
    return {
        "requirements": {"type": "list", "elements": "str", "default": []},
        "allow_conflicts": {"type": "list", "elements": "str", "default": []},
    }


def bot_facts_spec():
    return {
        "path": {"type": "path", "required": True},
        "packages": {"type": "list", "elements": "str", "default": []},
        "pins": {"type": "dict", "default": {}},
        "units": {"type": "list", "elements": "str", "default": []},
        "files": {"type": "list", "elements": "path", "default": []},
        # The expected SHA-1s are secret too: a file's checksum confirms a guessed token.
        "secret_files": {"type": "dict", "default": {}, "no_log": True},
    }


def venv_pins_spec():
    spec = {
        "path": {"type": "path", "required": True},
        "pins": {"type": "dict", "required": True},
        "python": {"type": "str", "default": "python3"},
        "create": {"type": "bool", "default": True},
    }
    spec.update(pins_extras_spec())
    spec.update(installer_spec())
    return spec


def release_build_spec():
    """What a build needs, shared by release and its internal step module release_step."""
    spec = {
        **bot_state_spec(),
        "root": {"type": "path", "default": "/opt/botfleet"},
        "pins": {"type": "dict", "default": {}},
        "python": {"type": "str", "default": "python3"},
        "release_id": {"type": "str"},
        "smoke_imports": {"type": "list", "elements": "str", "default": []},
        "lock_timeout": {"type": "int", "default": 300},
        "config": {"type": "dict", "default": {}},
        "redact": {"type": "list", "elements": "str", "default": [], "no_log": True},
        "state_group": {"type": "str", "default": "botfleet"},
        "allow_sdists": {"type": "list", "elements": "str", "default": []},
        "build_user": {"type": "str", "default": "botfleet-build"},
        "source": {"type": "dict"},
    }
    spec.update(pins_extras_spec())
    spec.update(installer_spec())
    return spec


def release_spec():
    """The public options of release; the build's phases are release_step's (release_step_spec)."""
    return {
        **release_build_spec(),
        "state": {"type": "str", "default": "built", "choices": list(STATES)},
        "keep": {"type": "int", "default": 5},
        "record": {"type": "dict"},
        "unit_dir": {"type": "path", "default": "/etc/systemd/system"},
        "controller_find_links": {"type": "list", "elements": "str", "default": []},
        "restart": {"type": "bool", "default": False},
        "source_cache_days": {"type": "int", "default": 30},
    }


def release_step_spec():
    """The controller/target protocol of a build (module_utils/release_manager.py), run by release's action."""
    return {
        **release_build_spec(),
        "phase": {"type": "str", "required": True, "choices": list(PHASES)},
        "lock": {"type": "str"},
        "staged": {"type": "path"},
        "accepted": {"type": "list", "elements": "dict", "default": []},
    }


def unit_health_spec():
    return {
        "unit": {"type": "str", "required": True},
        "timeout": {"type": "int", "default": 60},
        "stable_for": {"type": "int", "default": 10},
        "fail_patterns": {"type": "list", "elements": "str", "default": []},
        "ready_pattern": {"type": "str"},
        "redact": {"type": "list", "elements": "str", "default": [], "no_log": True},
        "poll_interval": {"type": "float", "default": 1.0},
    }


def webex_common_spec():
    """Options of the Webex REST client (doc fragment botfleet.deploy.webex)."""
    return {
        "token": {"type": "str", "required": True, "no_log": True},
        "base_url": {"type": "str", "default": "https://webexapis.com/v1/"},
        "request_timeout": {"type": "float", "default": 10.0},
        "max_retries": {"type": "int", "default": 3},
        "validate_certs": {"type": "bool", "default": True},
        "ca_path": {"type": "path"},
        "use_proxy": {"type": "bool", "default": True},
        "allow_insecure_http": {"type": "bool", "default": False},
        "redact": {"type": "list", "elements": "str", "default": [], "no_log": True},
    }


def webex_probe_spec():
    spec = {
        "room_id": {"type": "str"},
        "to_person_email": {"type": "str"},
        "to_person_id": {"type": "str"},
        "bot_email": {"type": "str"},
        "bot_id": {"type": "str"},
        "mention": {"type": "bool", "default": True},
        "text": {"type": "str", "default": "status"},
        "expect": {"type": "str", "default": ".+"},
        "timeout": {"type": "int", "default": 30},
        "interval": {"type": "float", "default": 1.0},
    }
    spec.update(webex_common_spec())
    return spec


def webex_notify_spec():
    spec = {
        "room_id": {"type": "str"},
        "to_person_email": {"type": "str"},
        "to_person_id": {"type": "str"},
        "markdown": {"type": "str", "required": True},
    }
    spec.update(webex_common_spec())
    return spec


def run_lease_spec():
    return {
        **bot_state_spec(),
        "state": {"type": "str", "default": "held", "choices": list(LEASE_STATES)},
        "playbook": {"type": "str"},
        "ttl": {"type": "int", "default": 3600},
        "break_lease": {"type": "bool", "default": False},
        # Hidden: the run's identity and the holders its controller found gone, set by the action plugin.
        "_holder": {"type": "dict"},
    }


def bot_state_spec():
    """The options of doc fragment botfleet.deploy.bot_state."""
    return {
        "bot": {"type": "str", "required": True},
        "state_dir": {"type": "path", "default": "/var/lib/botfleet"},
    }


def journal_spec():
    return {
        **bot_state_spec(),
        "root": {"type": "path", "default": "/opt/botfleet"},
        "record": {"type": "dict"},
        "history": {"type": "int", "default": 0},
        "state_group": {"type": "str", "default": "botfleet"},
        "redact": {"type": "list", "elements": "str", "default": [], "no_log": True},
        "lock_timeout": {"type": "int", "default": 300},
    }


def nohup_facts_spec():
    return {
        "match": {"type": "str", "required": True},
        "environment": {"type": "list", "elements": "str", "default": []},
        "secrets": {"type": "list", "elements": "str", "default": [], "no_log": False},
    }


def nohup_handover_spec():
    return {
        "bot": {"type": "str", "required": True},
        "match": {"type": "str", "required": True},
        "state": {"type": "str", "default": "adopted", "choices": ["adopted", "restored"]},
        "secrets": {"type": "list", "elements": "str", "default": [], "no_log": False},
        "stop_timeout": {"type": "int", "default": 20},
        "root": {"type": "path", "default": "/opt/botfleet"},
        "state_dir": {"type": "path", "default": "/var/lib/botfleet"},
        "config_dir": {"type": "path", "default": "/etc/botfleet"},
        "unit_dir": {"type": "path", "default": "/etc/systemd/system"},
        "reason": {"type": "str", "default": ""},
    }
