"""release through Ansible (module + action plugin), building real releases from the index."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from conftest import TARGET_PYTHON, bots_repository, git, make_wheel, wheel_hash

from ansible_collections.botfleet.deploy.plugins.module_utils.build import writable_by_others

pytestmark = pytest.mark.network

OLD = {"webex_bot": "1.0.8", "websockets": "11.0.3"}
STORY = {"webex_bot": "1.0.8", "websockets": "14.2"}


@pytest.fixture
def release(tmp_path, run_module):
    base = {
        "bot": "barnacles",
        "root": str(tmp_path / "opt"),
        "state_dir": str(tmp_path / "state"),
        "python": TARGET_PYTHON,
        # Built as the test's own user; test_an_unprivileged_build_* builds as an unprivileged one.
        "build_user": "",
    }

    def call(check=False, diff=False, **args):
        return run_module("botfleet.deploy.release", dict(base, **args), check=check, diff=diff)

    call.releases = tmp_path / "opt" / "barnacles" / "releases"
    call.current = tmp_path / "opt" / "barnacles" / "current"
    call.state = tmp_path / "state" / "barnacles" / "state.json"
    return call


def entries(path):
    return sorted(os.listdir(path)) if path.exists() else []


def test_build_activate_rebuild_without_index(release):
    built = release(state="built", pins=OLD, smoke_imports=["webex_bot", "websockets"])
    assert built.get("failed") is not True, built.get("msg")
    assert built["changed"] is True and built["built"] is True
    release_id = built["release_id"]
    assert entries(release.releases) == [release_id]
    record = json.loads((release.releases / release_id / "release.json").read_text())
    assert record["resolved"]["websockets"] == "11.0.3"
    assert record["pins"] == {"webex-bot": "==1.0.8", "websockets": "==11.0.3"}
    assert record["python"]["executable"] == str(release.releases / release_id / "venv" / "bin" / "python")

    assert (release.releases / release_id / "lock.txt").read_text() == built["lock"]
    assert "websockets==11.0.3 \\\n    --hash=sha256:" in built["lock"]

    # Same pins spelled differently: the same lock, the release exists, nothing to do.
    again = release(state="built", pins={"Webex-Bot": "==1.0.8", "websockets": "11.0.3"})
    assert again.get("failed") is not True, again.get("msg")
    assert again["changed"] is False and again["exists"] is True
    assert again["release_id"] == release_id
    assert again["lock"] == built["lock"]

    # The lock is resolved before anything runs on the target: without its index, the build says so.
    unreachable = release(state="built", pins=OLD, index_url="http://127.0.0.1:9/simple")
    assert unreachable["failed"] is True
    assert unreachable["msg"].startswith(
        "release of barnacles refused, nothing was built and nothing was switched: resolving"
    )

    check = release(state="active", pins=OLD, check=True, diff=True)
    assert check["changed"] is True
    assert check["diff"]["after"] == f"releases/{release_id}\n"
    assert not release.current.exists()

    active = release(state="active", pins=OLD)
    assert active["changed"] is True
    assert os.readlink(release.current) == f"releases/{release_id}"
    assert release(state="active", release_id=release_id)["changed"] is False


def test_refused_conflict_leaves_nothing_behind(release):
    result = release(state="built", pins=STORY)
    assert result["failed"] is True
    assert "webex-bot==1.0.8 depends on websockets==11.0.3" in result["msg"]
    assert "nothing was built and nothing was switched" in result["msg"]
    assert "list the package in allow_conflicts" in result["msg"]
    assert entries(release.releases) == []


def test_allowed_conflict_is_built_and_reported(release):
    result = release(state="built", pins=STORY, allow_conflicts=["websockets"])
    assert result.get("failed") is not True, result.get("msg")
    assert [c["message"] for c in result["accepted_conflicts"]] == [
        "webex-bot 1.0.8 requires websockets==11.0.3, installed 14.2"
    ]
    assert result["release"]["resolved"]["websockets"] == "14.2"


def test_unknown_version_and_failing_smoke_test_leave_current_untouched(release):
    good = release(state="built", pins={"backoff": "2.2.1"})
    release(state="active", release_id=good["release_id"])
    unknown = release(state="built", pins={"backoff": "99.0"})
    assert unknown["failed"] is True
    assert "backoff==99.0" in unknown["msg"]
    smoke = release(state="built", pins={"backoff": "2.1.2"}, smoke_imports=["no_such_module_x"])
    assert smoke["failed"] is True
    assert "failed its import smoke test" in smoke["msg"]
    assert "No module named 'no_such_module_x'" in smoke["msg"]
    assert entries(release.releases) == [good["release_id"]]
    assert os.readlink(release.current) == f"releases/{good['release_id']}"


def test_rollback_goes_to_the_previous_release_once(release):
    first = release(state="built", pins={"backoff": "2.2.1"})["release_id"]
    second = release(state="built", pins={"backoff": "2.1.2"})["release_id"]
    nothing = release(state="rolled_back")
    assert nothing["failed"] is True
    assert "has no previous release recorded" in nothing["msg"]
    release(state="active", release_id=first)
    release(state="active", release_id=second)
    back = release(state="rolled_back")
    assert back["changed"] is True
    assert back["previous_id"] == second
    assert os.readlink(release.current) == f"releases/{first}"
    state = json.loads(release.state.read_text())
    assert (state["current"], state["previous"]) == (first, second)
    assert [e["event"] for e in state["history"]] == ["built", "built", "activated", "activated", "rolled_back"]

    # Rolling back again would return to the release it was rolled back from: refused, unless named.
    again = release(state="rolled_back")
    assert again.get("failed") is not True
    assert again["changed"] is False
    assert again["already_rolled_back"] is True
    assert f"already rolled back from {second} to {first}" in again["msg"]
    assert os.readlink(release.current) == f"releases/{first}"
    named = release(state="rolled_back", release_id=second)
    assert named["changed"] is True
    assert os.readlink(release.current) == f"releases/{second}"


def test_check_mode_writes_nothing(release):
    built = release(state="built", pins={"backoff": "2.2.1"})
    state_dir = release.state.parent
    before = sorted(os.listdir(state_dir))
    result = release(state="active", release_id=built["release_id"], check=True)
    assert result["changed"] is True
    assert sorted(os.listdir(state_dir)) == before
    assert not release.current.exists()


def test_prune_keeps_current_and_previous(release):
    ids = [release(state="built", pins={"backoff": version})["release_id"] for version in ("2.0.0", "2.1.0", "2.2.1")]
    release(state="active", release_id=ids[0])
    release(state="active", release_id=ids[1])
    check = release(state="pruned", keep=1, check=True)
    assert check["removed"] == [] and check["changed"] is False
    release(state="active", release_id=ids[2])
    pruned = release(state="pruned", keep=1)
    assert pruned["removed"] == [ids[0]]
    assert entries(release.releases) == sorted(ids[1:])


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"bot": "../etc", "state": "active", "release_id": "a" * 12}, "not usable in paths and unit names"),
        ({"state": "built", "pins": {"websockets": ">>14"}}, "not a valid PEP 440 version or specifier"),
        ({"state": "built"}, "state=built needs pins"),
        ({"state": "active", "release_id": "../../x"}, "is not a release id"),
        ({"state": "pruned", "keep": 0}, "keep at least 1"),
        ({"state": "built", "pins": {"backoff": "2.2.1"}, "_phase": "commit"}, "_phase: not options of"),
    ],
)
def test_bad_input_is_refused_before_anything_changes(release, args, fragment):
    result = release(**args)
    assert result["failed"] is True
    assert fragment in result["msg"]
    assert not release.releases.exists()


def unit_text(release_root, extra=""):
    return (
        "[Unit]\nDescription=botfleet bot barnacles\n\n[Service]\n"
        f"EnvironmentFile={release_root}/barnacles/current/environment\n"
        f"ExecStart={release_root}/barnacles/current/venv/bin/python -m backoff{extra}\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )


def test_the_release_holds_its_unit_and_environment_and_rolls_back_with_them(release, tmp_path):
    units = tmp_path / "units"
    units.mkdir()
    root = tmp_path / "opt"
    old = {"botfleet-barnacles.service": unit_text(root), "environment": "MODE=old\n"}
    new = {"botfleet-barnacles.service": unit_text(root, " --verbose"), "environment": "MODE=new\n"}
    pins = {"backoff": "2.2.1"}

    first = release(state="built", pins=pins, config=old)
    assert first.get("failed") is not True, first.get("msg")
    second = release(state="built", pins=pins, config=new)
    # Same venv inputs, other configuration: another release, the same venv id.
    assert second["release_id"] != first["release_id"]
    assert second["venv_id"] == first["venv_id"]
    assert (release.releases / second["release_id"] / "environment").read_text() == "MODE=new\n"

    for built in (first, second):
        active = release(state="active", release_id=built["release_id"], unit_dir=str(units))
        assert active.get("failed") is not True, active.get("msg")
        assert active["unit_changed"] is True
    assert (units / "botfleet-barnacles.service").read_text() == new["botfleet-barnacles.service"]

    back = release(state="rolled_back", unit_dir=str(units))
    assert back["current_id"] == first["release_id"]
    # The rollback brings back what that release ran with: the old unit and, through current, the old environment.
    assert (units / "botfleet-barnacles.service").read_text() == old["botfleet-barnacles.service"]
    assert (release.current / "environment").read_text() == "MODE=old\n"


def test_a_unit_systemd_refuses_fails_the_build_and_leaves_nothing(release, tmp_path):
    bad = {"botfleet-barnacles.service": "[Service]\nExecStart=relative/python\n"}
    result = release(state="built", pins={"backoff": "2.2.1"}, config=bad)
    assert result["failed"] is True
    assert "systemd refuses its unit botfleet-barnacles.service" in result["msg"]
    assert entries(release.releases) == []


def test_a_damaged_release_is_built_again_and_refused_for_activation(release, tmp_path):
    built = release(state="built", pins={"backoff": "2.2.1"})
    release_id = built["release_id"]
    shutil.rmtree(release.releases / release_id / "venv")
    refused = release(state="active", release_id=release_id)
    assert refused["failed"] is True
    assert "venv/bin/python is missing" in refused["msg"]
    assert not release.current.exists()

    rebuilt = release(state="built", pins={"backoff": "2.2.1"})
    assert rebuilt.get("failed") is not True, rebuilt.get("msg")
    assert rebuilt["release_id"] == release_id and rebuilt["changed"] is True
    assert rebuilt["damaged"] == [f"{release.releases / release_id}/venv/bin/python is missing"]
    assert (release.releases / release_id / "venv" / "bin" / "python").exists()


@pytest.mark.parametrize("content", ["[]", "null", '{"history": 5}'])
def test_a_state_file_of_the_wrong_shape_fails_without_a_traceback(release, content):
    built = release(state="built", pins={"backoff": "2.2.1"})
    release.state.parent.mkdir(parents=True, exist_ok=True)
    release.state.write_text(content)
    result = release(state="active", release_id=built["release_id"])
    assert result["failed"] is True
    assert "Traceback" not in json.dumps(result)
    assert f"{release.state} is not a botfleet state file" in result["msg"]
    assert not release.current.exists()


def test_offline_refuses_a_url_requirement_before_anything_runs(release, tmp_path):
    result = release(
        state="built",
        pins={"backoff": "2.2.1"},
        requirements=[f"evil @ file://{tmp_path}/evil-1.0-py3-none-any.whl"],
        find_links=[str(tmp_path)],
        offline=True,
    )
    assert result["failed"] is True
    assert result["msg"].startswith("nothing ran: requirement 'evil @ file://")
    assert "put its wheel there and require evil by name" in result["msg"]
    assert not (tmp_path / "opt").exists()


@pytest.fixture
def toy_house(tmp_path):
    """A wheelhouse of tiny real wheels: toyapp needs toydep (any version), toystrict needs toydep==1.0."""
    house = tmp_path / "wheelhouse"
    make_wheel(house, "toyapp", "1.0", requires=["toydep"])
    make_wheel(house, "toydep", "1.0")
    make_wheel(house, "toystrict", "1.0", requires=["toydep==1.0"])
    return house


def offline_from(house, **args):
    return dict({"state": "built", "find_links": [str(house)], "offline": True}, **args)


def test_an_unpinned_dependency_resolved_otherwise_is_another_release_and_diff_shows_it(release, toy_house):
    first = release(**offline_from(toy_house, pins={"toyapp": "1.0"}, smoke_imports=["toydep"]))
    assert first.get("failed") is not True, first.get("msg")
    release(state="active", release_id=first["release_id"])
    # uv leaves its venv/.lock world-writable: the build seals the release.
    assert writable_by_others(str(release.releases / first["release_id"])) == []
    assert first["lock_changes"] == [
        {"name": "toyapp", "before": None, "after": "1.0"},
        {"name": "toydep", "before": None, "after": "1.0"},
    ]

    make_wheel(toy_house, "toydep", "2.0")
    planned = release(check=True, diff=True, **offline_from(toy_house, pins={"toyapp": "1.0"}))
    assert planned["changed"] is True and planned["exists"] is False
    assert planned["release_id"] != first["release_id"]
    assert planned["lock_changes"] == [{"name": "toydep", "before": "1.0", "after": "2.0"}]
    assert planned["diff"]["before"] == "toyapp==1.0\ntoydep==1.0\n"
    assert planned["diff"]["after"] == "toyapp==1.0\ntoydep==2.0\n"
    assert entries(release.releases) == [first["release_id"]]

    second = release(diff=True, **offline_from(toy_house, pins={"toyapp": "1.0"}))
    assert second["release_id"] == planned["release_id"] and second["built"] is True
    assert second["release"]["resolved"]["toydep"] == "2.0"
    assert second["diff"]["after"] == "toyapp==1.0\ntoydep==2.0\n"


def test_hashes_that_are_not_the_locked_files_are_refused_even_for_a_built_release(release, toy_house):
    built = release(**offline_from(toy_house, pins={"toyapp": "1.0"}))
    right = wheel_hash(toy_house / "toyapp-1.0-py3-none-any.whl")
    wrong = release(**offline_from(toy_house, pins={"toyapp": "1.0"}, hashes={"toyapp": ["sha256:" + "0" * 64]}))
    assert wrong["failed"] is True and "exists" not in wrong
    assert "none of sha256:" + "0" * 64 + " is a file of toyapp 1.0 as locked" in wrong["msg"]
    same = release(**offline_from(toy_house, pins={"toyapp": "1.0"}, hashes={"toyapp": [right]}))
    assert same["exists"] is True and same["release_id"] == built["release_id"]


def test_a_wheel_swapped_under_the_same_name_fails_the_build_and_leaves_nothing(release, toy_house, tmp_path):
    swapped = tmp_path / "target-wheelhouse"
    shutil.copytree(toy_house, swapped)
    make_wheel(swapped, "toydep", "1.0", code="import os\nos.system('echo owned')\n")
    result = release(
        **offline_from(swapped, pins={"toyapp": "1.0"}, controller_find_links=[str(toy_house)]),
    )
    assert result["failed"] is True
    assert "hash" in result["msg"].lower()
    assert "push it again" in result["msg"] and "nothing was built and nothing was switched" in result["msg"]
    assert entries(release.releases) == []


def test_an_allowed_conflict_is_one_lock_with_the_forced_version(release, toy_house):
    make_wheel(toy_house, "toydep", "2.0")
    pins = {"toystrict": "1.0", "toydep": "2.0"}
    refused = release(**offline_from(toy_house, pins=pins))
    assert refused["failed"] is True and "list the package in allow_conflicts" in refused["msg"]
    forced = release(**offline_from(toy_house, pins=pins, allow_conflicts=["toydep"]))
    assert forced.get("failed") is not True, forced.get("msg")
    assert [c["message"] for c in forced["accepted_conflicts"]] == ["toystrict 1.0 requires toydep==1.0, installed 2.0"]
    lock = (release.releases / forced["release_id"] / "lock.txt").read_text()
    assert "toydep==2.0 \\\n    --hash=" + wheel_hash(toy_house / "toydep-2.0-py3-none-any.whl") in lock


@pytest.fixture
def shared_base():
    """A directory other users can traverse (pytest's own tmp_path is root's alone)."""
    base = Path(tempfile.mkdtemp(prefix="botfleet-unprivileged-", dir="/tmp"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to a build user needs root")
@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_an_unprivileged_build_imports_as_the_build_user_and_leaves_a_sealed_release(
    run_module, shared_base, installer
):
    spy = shared_base / "spy"
    spy.mkdir(mode=0o777)
    spy.chmod(0o777)
    secret = shared_base / "barnacles.env"
    secret.write_text("WEBEX_BOT_TOKEN=lab-token\n")
    secret.chmod(0o600)
    # A package whose import reports who ran it and whether it could read the bot's secrets.
    code = (
        "import os\n"
        "try:\n"
        f"    open({str(secret)!r}).read()\n"
        "    SECRET = 'read'\n"
        "except OSError:\n"
        "    SECRET = 'refused'\n"
        f"with open(os.path.join({str(spy)!r}, 'import'), 'w') as handle:\n"
        "    handle.write(f'{os.getuid()} {SECRET}')\n"
    )
    house = shared_base / "wheelhouse"
    make_wheel(house, "toyspy", "1.0", code=code)
    args = {
        "bot": "barnacles",
        "root": str(shared_base / "opt"),
        "state_dir": str(shared_base / "state"),
        "python": TARGET_PYTHON,
        "state": "built",
        "pins": {"toyspy": "1.0"},
        "smoke_imports": ["toyspy"],
        "find_links": [str(house)],
        "offline": True,
        "installer": installer,
        "build_user": "nobody",
    }
    result = run_module("botfleet.deploy.release", args)
    assert result.get("failed") is not True, result.get("msg")
    assert (spy / "import").read_text() == f"{pwd.getpwnam('nobody').pw_uid} refused"

    path = shared_base / "opt" / "barnacles" / "releases" / result["release_id"]
    owners = {(os.lstat(p).st_uid, os.lstat(p).st_gid) for p in [path, *path.rglob("*")]}
    assert owners == {(0, 0)}
    assert writable_by_others(str(path)) == []
    assert not (path / ".build-home").exists()
    assert (path / "lock.txt").read_text() == result["lock"]


def test_a_missing_build_user_is_a_sentence_and_leaves_nothing(release, toy_house):
    result = release(**offline_from(toy_house, pins={"toyapp": "1.0"}, build_user="botfleet-no-such-user"))
    assert result["failed"] is True
    if os.geteuid() == 0:
        assert "the build user botfleet-no-such-user does not exist on this host" in result["msg"]
        assert "bot_host role creates it" in result["msg"]
    assert entries(release.releases) == []


def test_a_release_of_code_from_git_then_a_commit_only_change_reuses_the_venv_and_rolls_back_whole(
    release, toy_house, tmp_path
):
    from ansible_collections.botfleet.deploy.plugins.plugin_utils.source import resolve_source

    # The code's requirements join the lock; the pin of toydep wins over what the file says of it.
    repo = bots_repository(tmp_path / "bots", "toyapp\ntoydep>=5\n")
    cache = str(tmp_path / "sources")
    old = resolve_source({"repo": str(repo)}, "requirements.txt", cache=cache)
    (repo / "webex_bots" / "barnacles.py").write_text("PING = 10\n")
    git(repo, "commit", "--quiet", "-am", "Ping every 10 s")
    new = resolve_source({"repo": str(repo)}, "requirements.txt", cache=cache)

    first = release(**offline_from(toy_house, pins={"toydep": "1.0"}, smoke_imports=["toyapp"], source=old))
    assert first.get("failed") is not True, first.get("msg")
    assert first["installer"] and "venv_reused_from" not in first
    assert "toyapp==1.0" in first["lock"] and "toydep==1.0" in first["lock"]
    assert first["release"]["source"] == {key: old[key] for key in ("kind", "id", "commit", "short", "subject")}
    app = release.releases / first["release_id"] / "app"
    assert (app / "webex_bots" / "barnacles.py").read_text() == "PING = 20\n"
    assert not (app / ".git").exists()
    assert writable_by_others(str(release.releases / first["release_id"])) == []
    release(state="active", release_id=first["release_id"])

    planned = release(check=True, diff=True, **offline_from(toy_house, pins={"toydep": "1.0"}, source=new))
    assert planned["exists"] is False and planned["canary_id"] != first["canary_id"]
    assert planned["commit_range"]["range"] == f"{old['short']}..{new['short']}"
    assert planned["diff"]["before"].startswith(f"code: {old['short']} (Ping every 20 s)\n")
    assert planned["diff"]["after"].startswith(f"code: {new['short']} (Ping every 10 s)\n")

    second = release(**offline_from(toy_house, pins={"toydep": "1.0"}, smoke_imports=["toyapp"], source=new))
    assert second.get("failed") is not True, second.get("msg")
    assert second["venv_id"] == first["venv_id"] and second["release_id"] != first["release_id"]
    # Only the code changed: the venv of the running release is reused, nothing is installed.
    assert second["venv_reused_from"] == first["release_id"]
    assert second["installer"] is None and second["commands"] == []
    assert (
        second["commit_range"]["text"] == f"code {old['short']} (Ping every 20 s) -> {new['short']} (Ping every 10 s)"
    )
    venv = release.releases / second["release_id"] / "venv"
    # Its scripts name its own path, not the release it was copied from.
    activate = (venv / "bin" / "activate").read_text()
    assert str(venv) in activate and first["release_id"] not in activate
    assert (release.releases / second["release_id"] / "app" / "webex_bots" / "barnacles.py").read_text() == (
        "PING = 10\n"
    )
    release(state="active", release_id=second["release_id"])
    state = json.loads(release.state.read_text())
    assert state["history"][-1]["commit"] == f"{new['short']} Ping every 10 s"

    back = release(state="rolled_back")
    assert back["current_id"] == first["release_id"]
    assert (release.current / "app" / "webex_bots" / "barnacles.py").read_text() == "PING = 20\n"
    assert os.path.realpath(release.current / "venv") == str(release.releases / first["release_id"] / "venv")


def test_a_directory_source_is_a_release_of_its_tree(release, toy_house, tmp_path):
    from ansible_collections.botfleet.deploy.plugins.plugin_utils.source import resolve_source

    tree = tmp_path / "bots"
    (tree / ".git").mkdir(parents=True)
    (tree / ".git" / "config").write_text("[core]\n")
    (tree / "bot.py").write_text("print('hi')\n")
    source = resolve_source({"dir": str(tree)}, cache=str(tmp_path / "sources"))
    built = release(**offline_from(toy_house, pins={"toydep": "1.0"}, source=source))
    assert built.get("failed") is not True, built.get("msg")
    assert built["release"]["source"]["kind"] == "dir" and built["release"]["source"]["id"] == source["id"]
    assert sorted(os.listdir(release.releases / built["release_id"] / "app")) == ["bot.py"]
    (tree / "bot.py").write_text("print('hello')\n")
    changed = resolve_source({"dir": str(tree)}, cache=str(tmp_path / "sources"))
    again = release(**offline_from(toy_house, pins={"toydep": "1.0"}, source=changed))
    assert again["release_id"] != built["release_id"] and again["venv_reused_from"] == built["release_id"]


def test_a_source_whose_requirements_are_options_or_whose_archive_changed_is_refused(release, toy_house, tmp_path):
    refused = release(
        **offline_from(
            toy_house,
            pins={"toydep": "1.0"},
            source={
                "kind": "dir",
                "id": "c" * 64,
                "archive": "/nonexistent",
                "sha256": "0" * 64,
                "requirements": ["-r other.txt"],
            },
        )
    )
    assert refused["failed"] is True and "is an option" in refused["msg"]
    archive = tmp_path / "tree.tar"
    archive.write_bytes(b"")
    swapped = release(
        **offline_from(
            toy_house,
            pins={"toydep": "1.0"},
            source={"kind": "dir", "id": "c" * 64, "archive": str(archive), "sha256": "0" * 64},
        )
    )
    assert swapped["failed"] is True and "is not the one the controller exported" in swapped["msg"]
    gone = release(
        **offline_from(
            toy_house,
            pins={"toydep": "1.0"},
            source={"kind": "dir", "id": "c" * 64, "archive": str(tmp_path / "pruned.tar"), "sha256": "0" * 64},
        )
    )
    assert gone["failed"] is True and "pruned.tar is not on this host" in gone["msg"]
    assert "run the playbook again to copy it anew" in gone["msg"]
    assert entries(release.releases) == []


# A real PEP 517 build backend, as a wheel of the wheelhouse: the build of an installed source finds it there offline.
TOY_BACKEND = """
import base64, hashlib, os, tomllib, zipfile


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open("pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)["project"]
    package, version = project["name"].replace("-", "_"), project["version"]
    info = f"{package}-{version}.dist-info"
    files = {}
    for parent, _dirs, names in os.walk(package):
        for name in names:
            with open(os.path.join(parent, name), "rb") as handle:
                files[os.path.join(parent, name)] = handle.read()
    requires = "".join(f"Requires-Dist: {line}\\n" for line in project.get("dependencies", []))
    metadata = f"Metadata-Version: 2.1\\nName: {project['name']}\\nVersion: {version}\\n{requires}"
    files[f"{info}/METADATA"] = metadata.encode()
    wheel_info = "Wheel-Version: 1.0\\nGenerator: toybackend\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    files[f"{info}/WHEEL"] = wheel_info.encode()
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for path, data in files.items()
    ]
    files[f"{info}/RECORD"] = ("\\n".join([*record, f"{info}/RECORD,,"]) + "\\n").encode()
    wheel = f"{package}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel
"""


def bots_project(path, ping):
    """The bots as a Python project: package barnacles_bots, built by toybackend, needing toydep."""
    (path / "barnacles_bots").mkdir(parents=True)
    (path / "barnacles_bots" / "__init__.py").write_text(f"PING = {ping}\n")
    (path / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["toybackend"]\nbuild-backend = "toybackend"\n\n'
        '[project]\nname = "barnacles-bots"\nversion = "2.4.0"\ndependencies = ["toydep"]\n'
    )
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "add", "-A")
    git(path, "commit", "--quiet", "-m", f"Ping every {ping} s")
    return path


def installed_ping(venv):
    """Where the venv imports barnacles_bots from, and its PING."""
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c", "import barnacles_bots as b; print(b.__file__); print(b.PING)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.split()


def test_an_installed_source_is_built_into_the_venv_offline_and_each_commit_has_a_venv_of_its_own(
    release, toy_house, tmp_path
):
    from ansible_collections.botfleet.deploy.plugins.plugin_utils.source import resolve_source

    make_wheel(toy_house, "toybackend", "1.0", code=TOY_BACKEND)
    repo = bots_project(tmp_path / "bots", 20)
    cache = str(tmp_path / "sources")
    old = resolve_source({"repo": str(repo)}, cache=cache, install=True)
    first = release(**offline_from(toy_house, pins={"toydep": "1.0"}, smoke_imports=["barnacles_bots"], source=old))
    assert first.get("failed") is not True, first.get("msg")
    # Its dependencies are in the lock; the project itself is not (its tree is checked by the source's sha256).
    assert "toydep==1.0" in first["lock"] and "barnacles" not in first["lock"]
    assert first["release"]["source"]["installed"] == "barnacles-bots"
    assert first["release"]["resolved"]["barnacles-bots"] == "2.4.0"
    # Built offline from the wheelhouse (its backend too), after the lock, without resolving its dependencies again.
    [project_install] = [command for command in first["commands"] if command.endswith("/.build-home/project")]
    assert "--no-deps" in project_install and "--no-index" in project_install
    assert project_install == first["commands"][-1]
    venv = release.releases / first["release_id"] / "venv"
    where, ping = installed_ping(venv)
    # Installed into the venv (not imported from app/), and the build left nothing of its own in the release.
    assert where.startswith(str(venv / "lib")) and "site-packages" in where and ping == "20"
    assert sorted(os.listdir(release.releases / first["release_id"] / "app")) == ["barnacles_bots", "pyproject.toml"]
    assert not (release.releases / first["release_id"] / ".build-home").exists()
    release(state="active", release_id=first["release_id"])

    (repo / "barnacles_bots" / "__init__.py").write_text("PING = 10\n")
    git(repo, "commit", "--quiet", "-am", "Ping every 10 s")
    new = resolve_source({"repo": str(repo)}, cache=cache, install=True)
    second = release(**offline_from(toy_house, pins={"toydep": "1.0"}, smoke_imports=["barnacles_bots"], source=new))
    assert second.get("failed") is not True, second.get("msg")
    # The code is in the venv: another commit is another venv, built, not a copy of the old one.
    assert second["venv_id"] != first["venv_id"] and "venv_reused_from" not in second and second["installer"]
    assert installed_ping(release.releases / second["release_id"] / "venv")[1] == "10"
    release(state="active", release_id=second["release_id"])
    back = release(state="rolled_back")
    assert back["current_id"] == first["release_id"]
    assert installed_ping(release.current / "venv")[1] == "20"


def test_an_installed_source_without_its_build_backend_in_the_wheelhouse_builds_nothing(release, toy_house, tmp_path):
    from ansible_collections.botfleet.deploy.plugins.plugin_utils.source import resolve_source

    source = resolve_source({"repo": str(bots_project(tmp_path / "bots", 20))}, cache=str(tmp_path / "s"), install=True)
    failed = release(**offline_from(toy_house, pins={"toydep": "1.0"}, source=source))
    assert failed["failed"] is True
    assert "building and installing the bot's project failed" in failed["msg"] and "toybackend" in failed["msg"]
    assert "nothing was built and nothing was switched" in failed["msg"]
    assert entries(release.releases) == []
    lacking = release(**offline_from(toy_house, pins={"toydep": "1.0"}, source=dict(source, project={})))
    assert lacking["failed"] is True and "source lacks project" in lacking["msg"]


def test_a_prune_removes_the_hosts_and_the_controllers_source_trees_no_one_needs(
    release, toy_house, tmp_path, monkeypatch
):
    from ansible_collections.botfleet.deploy.plugins.plugin_utils.source import resolve_source

    cache = tmp_path / "controller-cache"
    monkeypatch.setenv("BOTFLEET_SOURCE_CACHE", str(cache))
    repo = bots_repository(tmp_path / "bots", "toyapp\n")
    old = resolve_source({"repo": str(repo)}, cache=str(cache))
    sources = tmp_path / "opt" / ".sources"
    sources.mkdir(parents=True)
    # The VM's copy of the tree, as roles/bot/tasks/build.yml makes it: <root>/.sources/<id>.tar.
    shutil.copy(old["archive"], sources / Path(old["archive"]).name)
    on_vm = dict(old, archive=str(sources / Path(old["archive"]).name))
    built = release(**offline_from(toy_house, pins={"toydep": "1.0"}, source=on_vm))
    assert built.get("failed") is not True, built.get("msg")
    release(state="active", release_id=built["release_id"])
    stale = sources / ("f" * 40 + ".tar")
    stale.write_bytes(b"a tree no release holds")
    long_ago = time.time() - 40 * 86400
    for path in (stale, sources / Path(old["archive"]).name, Path(old["archive"])):
        os.utime(path, (long_ago, long_ago))

    planned = release(state="pruned", check=True)
    assert planned["changed"] is True and planned["removed_sources"] == [stale.name]
    assert planned["removed_source_cache"] == [f"trees/{old['commit']}.tar"]
    assert stale.exists() and Path(old["archive"]).exists()

    pruned = release(state="pruned", keep=1)
    assert pruned["removed_sources"] == [stale.name] and not stale.exists()
    # The running release's tree stays on the host; the controller's export, unused for 40 days, goes.
    assert (sources / Path(old["archive"]).name).exists()
    assert pruned["removed_source_cache"] == [f"trees/{old['commit']}.tar"] and not Path(old["archive"]).exists()
    again = release(state="pruned", source_cache_days=0)
    assert again["changed"] is False and again["removed_sources"] == [] and "removed_source_cache" not in again
