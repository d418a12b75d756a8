"""The controller/target protocol of a build is release_step's, not release's: documentation, action, refusals."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest
import yaml

from ansible_collections.botfleet.deploy.plugins.action import release as release_action
from ansible_collections.botfleet.deploy.plugins.doc_fragments import bot_state, installer, pins
from ansible_collections.botfleet.deploy.plugins.module_utils.lock import format_lock
from ansible_collections.botfleet.deploy.plugins.module_utils.release import compute_release_id
from ansible_collections.botfleet.deploy.plugins.module_utils.specs import release_spec, release_step_spec
from ansible_collections.botfleet.deploy.plugins.modules import release as release_module
from ansible_collections.botfleet.deploy.plugins.modules import release_step as release_step_module

PROTOCOL = {"phase", "lock", "staged", "accepted"}
FRAGMENTS = {
    "botfleet.deploy.pins": pins,
    "botfleet.deploy.installer": installer,
    "botfleet.deploy.bot_state": bot_state,
}
INTERPRETER = {"implementation": "cpython", "version": "3.11.2", "executable": "/usr/bin/python3"}
LOCK = {
    name: {"version": version, "hashes": ["sha256:" + hashlib.sha256(f"{name}-{version}".encode()).hexdigest()]}
    for name, version in {"toystrict": "1.0", "toydep": "2.0"}.items()
}
STAGING = "/opt/botfleet/barnacles/releases/.staging-x"


def documented_options(module):
    """The options ansible-doc shows for a module: its own and those of its documentation fragments."""
    doc = yaml.safe_load(module.DOCUMENTATION)
    options = dict(doc["options"])
    for fragment in doc.get("extends_documentation_fragment", []):
        options.update(yaml.safe_load(FRAGMENTS[fragment].ModuleDocFragment.DOCUMENTATION)["options"])
    return options


def test_release_documents_only_its_public_options():
    options = documented_options(release_module)
    assert [name for name in options if name.startswith("_")] == []
    assert not PROTOCOL & set(options)
    assert set(options) == set(release_spec())


def test_release_step_documents_the_protocol_and_says_it_is_internal():
    doc = yaml.safe_load(release_step_module.DOCUMENTATION)
    assert set(documented_options(release_step_module)) == set(release_step_spec())
    assert PROTOCOL <= set(release_step_spec())
    assert doc["short_description"] == "Internal step of botfleet.deploy.release, run by its action plugin"
    assert "Do not call this module from a playbook" in doc["description"][0]


class Action(release_action.ActionModule):
    """The release action with the target answering as release_step and release do; every module call is kept."""

    def __init__(self, args, answers, check_mode=False):  # pylint: disable=super-init-not-called
        self._task = SimpleNamespace(
            args=args, async_val=0, check_mode=check_mode, diff=False, action="botfleet.deploy.release"
        )
        self._play_context = SimpleNamespace(check_mode=check_mode)
        self._connection = SimpleNamespace(_shell=SimpleNamespace(tmpdir="/tmp/unused"))
        self.answers = answers
        self.calls = []

    def _execute_module(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        self.calls.append((module_name, dict(module_args)))
        answer = self.answers[module_args.get("phase", module_args.get("state"))]
        return dict(answer, changed=answer.get("changed", False))


@pytest.fixture
def locked(monkeypatch):
    """The lock resolves to LOCK, without uv or an index."""
    resolved = []

    def resolve_lock(pin_set, requirements, allowed, interpreter, sources, allow_sdists):
        resolved.append(interpreter)
        return dict(LOCK)

    monkeypatch.setattr(release_action, "resolve_lock", resolve_lock)
    return resolved


def test_a_build_runs_its_phases_as_release_step_with_the_protocol_options(locked):
    facts = {
        "distributions": {
            "toystrict": {"name": "toystrict", "version": "1.0", "requires": ["toydep==1.0"]},
            "toydep": {"name": "toydep", "version": "2.0", "requires": []},
        },
        "marker_environment": {},
    }
    release_id = compute_release_id(LOCK, INTERPRETER)
    answers = {
        "inspect": {"interpreter": INTERPRETER},
        "stage": {
            "changed": True,
            "exists": False,
            "release_id": release_id,
            "staged": STAGING,
            "facts": facts,
            "venv_id": release_id,
            "canary_id": release_id,
            "current_versions": None,
            "current_source": None,
        },
        "commit": {"changed": True, "built": True, "release_id": release_id},
    }
    action = Action(
        {"bot": "barnacles", "pins": {"toystrict": "1.0", "toydep": "2.0"}, "allow_conflicts": ["toydep"]}, answers
    )
    result = action.run(task_vars={})
    assert result.get("failed") is not True, result.get("msg")
    assert [(name, args["phase"]) for name, args in action.calls] == [
        ("botfleet.deploy.release_step", "inspect"),
        ("botfleet.deploy.release_step", "stage"),
        ("botfleet.deploy.release_step", "commit"),
    ]
    stage, commit = action.calls[1][1], action.calls[2][1]
    assert stage["lock"] == format_lock(LOCK) == result["lock"]
    assert commit["staged"] == STAGING and commit["release_id"] == release_id
    assert [c["dependency"] for c in commit["accepted"]] == ["toydep"]
    # Only what release_step takes crosses: release's own options (state, keep, ...) would be refused there.
    for _name, args in action.calls:
        assert set(args) <= set(release_step_spec())
        assert not {name for name in args if name.startswith("_") and not name.startswith("_ansible")}


def test_a_refused_build_is_discarded_by_release_step(locked):
    facts = {
        "distributions": {"toydep": {"name": "toydep", "version": "1.0", "requires": []}},
        "marker_environment": {},
    }
    answers = {
        "inspect": {"interpreter": INTERPRETER},
        "stage": {
            "exists": False,
            "release_id": "a" * 12,
            "staged": STAGING,
            "facts": facts,
            "venv_id": "a" * 12,
            "canary_id": "a" * 12,
            "current_versions": None,
            "current_source": None,
        },
        "discard": {},
    }
    action = Action({"bot": "barnacles", "pins": {"toydep": "2.0"}}, answers)
    result = action.run(task_vars={})
    assert result["failed"] is True and "toydep wants ==2.0, installed 1.0" in result["msg"]
    assert [args["phase"] for _name, args in action.calls] == ["inspect", "stage", "discard"]
    assert action.calls[-1][1]["staged"] == STAGING


def test_activating_pins_switches_release_to_the_id_their_build_got(locked):
    release_id = compute_release_id(LOCK, INTERPRETER, {"x.env": "A=1\n"})
    answers = {"inspect": {"interpreter": INTERPRETER}, "active": {"changed": True, "release_id": release_id}}
    action = Action(
        {"bot": "barnacles", "state": "active", "pins": {"toydep": "2.0"}, "config": {"x.env": "A=1\n"}}, answers
    )
    result = action.run(task_vars={})
    assert result.get("failed") is not True, result.get("msg")
    assert [name for name, _args in action.calls] == ["botfleet.deploy.release_step", "botfleet.deploy.release"]
    switched = action.calls[1][1]
    assert switched["release_id"] == release_id
    assert set(switched) <= set(release_spec())


def test_activating_without_pins_or_release_id_is_refused_before_anything_runs():
    action = Action({"bot": "barnacles", "state": "active"}, {})
    result = action.run(task_vars={})
    assert result["failed"] is True and "pins (and requirements) or a release_id" in result["msg"]
    assert action.calls == []


@pytest.mark.parametrize("option", ["_phase", "_lock", "_staged", "_accepted", "phase", "staged"])
def test_a_protocol_option_in_a_task_is_refused_before_anything_runs(option):
    action = Action({"bot": "barnacles", "pins": {"toydep": "2.0"}, option: "commit"}, {})
    result = action.run(task_vars={})
    assert result["failed"] is True
    assert result["msg"].startswith(f"{option}: not options of botfleet.deploy.release")
    assert "botfleet.deploy.release_step" in result["msg"]
    assert action.calls == []


def test_a_task_that_names_release_step_is_refused_and_nothing_runs(run_module, tmp_path):
    root = tmp_path / "opt"
    result = run_module(
        "botfleet.deploy.release_step",
        {
            "bot": "barnacles",
            "phase": "discard",
            "root": str(root),
            "state_dir": str(tmp_path / "state"),
            "staged": str(root / "barnacles" / "releases" / ".staging-x"),
        },
    )
    assert result["failed"] is True
    assert "internal to botfleet.deploy.release" in result["msg"] and "nothing ran" in result["msg"]
    assert not root.exists()


def test_a_playbook_call_of_release_with_phase_is_refused_with_a_clear_message(run_module, tmp_path):
    root = tmp_path / "opt"
    result = run_module(
        "botfleet.deploy.release",
        {"bot": "barnacles", "state": "built", "pins": {"backoff": "2.2.1"}, "_phase": "commit", "root": str(root)},
    )
    assert result["failed"] is True
    assert result["msg"].startswith("_phase: not options of botfleet.deploy.release")
    assert not root.exists()
