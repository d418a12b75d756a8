"""The release store's file operations, on real directories and real venvs."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import threading
import time

import pytest
from conftest import TARGET_PYTHON
from conftest import fake_release as shared_fake_release

from ansible_collections.botfleet.deploy.plugins.module_utils import release as release_module
from ansible_collections.botfleet.deploy.plugins.module_utils.lock import format_lock, lock_digest
from ansible_collections.botfleet.deploy.plugins.module_utils.release import (
    COMPLETE_MARKER,
    BotLock,
    ReleaseError,
    ReleaseStore,
    check_bot_name,
    check_release_id,
    compute_release_id,
    compute_venv_id,
    prune_plan,
    relocate_venv,
    smoke_test,
    source_archives_to_prune,
    write_json_atomic,
)

CPYTHON_311 = {"implementation": "cpython", "version": "3.11.2"}


def run_command(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def store(tmp_path):
    return ReleaseStore(str(tmp_path / "opt"), str(tmp_path / "state"), "barnacles", lock_timeout=1)


UNIT = "botfleet-barnacles.service"


def fake_release(store, release_id, created, unit_text=None):
    """A whole release of barnacles as a build leaves it (conftest.fake_release)."""
    shared_fake_release(store, release_id, created, UNIT, unit_text)


def locked(**versions):
    """A lock of the given versions, one made-up file hash each."""
    return {
        name: {"version": version, "hashes": ["sha256:" + hashlib.sha256(f"{name}-{version}".encode()).hexdigest()]}
        for name, version in versions.items()
    }


STORY_LOCK = locked(**{"webex-bot": "1.3.1", "websockets": "16.1", "toydep": "1.0"})


def test_release_id_is_the_content_address_of_the_lock():
    first = compute_release_id(STORY_LOCK, CPYTHON_311)
    assert first == compute_release_id(dict(reversed(STORY_LOCK.items())), CPYTHON_311)
    assert len(first) == 12
    check_release_id(first)
    # The same pins with an unpinned dependency resolved otherwise are other bits: another release.
    assert first != compute_release_id(dict(STORY_LOCK, **locked(toydep="2.0")), CPYTHON_311)
    # The same versions with another file (a wheel rebuilt under the same name): another release.
    other_file = dict(STORY_LOCK, toydep={"version": "1.0", "hashes": ["sha256:" + "0" * 64]})
    assert first != compute_release_id(other_file, CPYTHON_311)
    assert first != compute_release_id(STORY_LOCK, dict(CPYTHON_311, version="3.11.9"))
    assert first != compute_release_id(STORY_LOCK, CPYTHON_311, allow_sdists=["toydep"])


def test_release_id_covers_the_configuration_and_the_venv_id_does_not():
    unit = {UNIT: "[Service]\nExecStart=/opt/botfleet/barnacles/current/venv/bin/python -m bot\n"}
    bare = compute_release_id(STORY_LOCK, CPYTHON_311)
    with_unit = compute_release_id(STORY_LOCK, CPYTHON_311, unit)
    assert with_unit != bare
    assert with_unit == compute_release_id(STORY_LOCK, CPYTHON_311, dict(unit))
    changed_exec = {UNIT: unit[UNIT].replace("-m bot", "-m bot --debug")}
    assert compute_release_id(STORY_LOCK, CPYTHON_311, changed_exec) != with_unit
    assert compute_venv_id(STORY_LOCK, CPYTHON_311) == bare


def test_code_installed_into_the_venv_is_part_of_its_id_and_code_run_from_app_is_not():
    commit, other = "a" * 40, "b" * 40
    plain = compute_venv_id(STORY_LOCK, CPYTHON_311)
    # Run from app/: one venv for every commit (a commit-only release reuses it).
    assert compute_release_id(STORY_LOCK, CPYTHON_311, source_id=commit) != compute_release_id(
        STORY_LOCK, CPYTHON_311, source_id=other
    )
    installed = compute_venv_id(STORY_LOCK, CPYTHON_311, installed_source=commit)
    assert installed not in (plain, compute_venv_id(STORY_LOCK, CPYTHON_311, installed_source=other))
    assert compute_release_id(STORY_LOCK, CPYTHON_311, source_id=commit, installed=True) != compute_release_id(
        STORY_LOCK, CPYTHON_311, source_id=commit
    )


def test_the_vms_source_archives_no_release_of_any_bot_holds_are_pruned_after_a_grace(tmp_path):
    root = tmp_path / "opt"
    barnacles = ReleaseStore(str(root), str(tmp_path / "state"), "barnacles")
    toodles = ReleaseStore(str(root), str(tmp_path / "state"), "toodles")
    kept, shared, gone, young = "a" * 40, "b" * 40, "c" * 40, "d" * 64
    shared_fake_release(barnacles, "1" * 12, "2026-11-01T00:00:00Z", source={"kind": "git", "id": kept})
    shared_fake_release(toodles, "2" * 12, "2026-11-01T00:00:00Z", source={"kind": "git", "id": shared})
    # A release of packages only, and a release.json that is not JSON, are read without failing.
    shared_fake_release(toodles, "3" * 12, "2026-11-02T00:00:00Z")
    (root / "toodles" / "releases" / ("4" * 12)).mkdir()
    (root / "toodles" / "releases" / ("4" * 12) / "release.json").write_text("{not json")
    sources = root / ".sources"
    sources.mkdir()
    now = time.time()
    for source_id in (kept, shared, gone, young):
        (sources / f"{source_id}.tar").write_bytes(b"tree")
        os.utime(sources / f"{source_id}.tar", (now - 7 * 3600, now - 7 * 3600))
    os.utime(sources / f"{young}.tar", (now - 60, now - 60))
    (sources / "notes.txt").write_text("not an archive\n")
    # Only the tree no bot's release holds, and not the one a build used a minute ago.
    assert source_archives_to_prune(str(root), now=now) == [f"{gone}.tar"]
    assert source_archives_to_prune(str(root), now=now + 6 * 3600) == [f"{gone}.tar", f"{young}.tar"]
    shutil.rmtree(toodles.path("2" * 12))
    assert source_archives_to_prune(str(root), now=now) == sorted([f"{gone}.tar", f"{shared}.tar"])
    assert source_archives_to_prune(str(tmp_path / "nothing")) == []


def test_a_release_whose_lock_changed_after_the_build_is_not_whole(store):
    fake_release(store, "a" * 12, "1")
    path = os.path.join(store.releases_dir, "a" * 12)
    text = format_lock(STORY_LOCK)
    with open(os.path.join(path, "lock.txt"), "w") as handle:
        handle.write(text)
    record = store.read_release("a" * 12)
    write_json_atomic(os.path.join(path, "release.json"), dict(record, lock=lock_digest(STORY_LOCK)))
    assert store.is_complete("a" * 12)
    with open(os.path.join(path, "lock.txt"), "w") as handle:
        handle.write(text.replace("toydep==1.0", "toydep==2.0"))
    assert store.problems("a" * 12) == [f"{path}/lock.txt was changed after the build"]
    os.unlink(os.path.join(path, "lock.txt"))
    assert store.problems("a" * 12) == [f"{path}/lock.txt is missing"]


@pytest.mark.parametrize("name", ["barnacles", "money_ball", "jarvis-2", "b"])
def test_good_bot_names(name):
    check_bot_name(name)


@pytest.mark.parametrize("name", ["", "Barnacles", "../etc", "bot name", "1bot", "bot;rm", "a" * 40, None])
def test_bad_bot_names_are_refused_with_the_rule(name):
    with pytest.raises(ReleaseError, match=r"not usable in paths and unit names|must be a string"):
        check_bot_name(name)


@pytest.mark.parametrize("release_id", ["", "3f9c2a", "../../../etc", "3F9C2A61B0D4", "3f9c2a61b0d4x"])
def test_bad_release_ids_are_refused(release_id):
    with pytest.raises(ReleaseError, match="is not a release id"):
        check_release_id(release_id)


def test_prune_plan_keeps_newest_and_protected():
    releases = [("a" * 12, "1"), ("b" * 12, "2"), ("c" * 12, "3"), ("d" * 12, "4"), ("e" * 12, "5")]
    assert prune_plan(releases, 2, {None}) == ["a" * 12, "b" * 12, "c" * 12]
    assert prune_plan(releases, 2, {"a" * 12, "b" * 12}) == ["c" * 12]
    assert prune_plan(releases, 10, set()) == []


def test_switch_is_atomic_and_history_is_kept(store):
    for release_id, created in (("a" * 12, "1"), ("b" * 12, "2")):
        fake_release(store, release_id, created)
    store.switch("a" * 12)
    assert store.current() == "a" * 12
    store.switch("b" * 12)
    assert os.readlink(store.current_link) == os.path.join("releases", "b" * 12)
    assert [p for p in os.listdir(store.bot_dir) if p.startswith(".current")] == []
    state = store.read_state()
    state.update(current="b" * 12, previous="a" * 12)
    store.write_state(state, {"event": "activated", "release": "b" * 12})
    assert json.load(open(store.state_file))["history"][-1]["event"] == "activated"


def test_releases_lists_only_complete_ones_oldest_first(store):
    fake_release(store, "b" * 12, "2026-01-02T00:00:00Z")
    fake_release(store, "a" * 12, "2026-01-01T00:00:00Z")
    os.makedirs(os.path.join(store.releases_dir, "c" * 12))  # interrupted commit: no release.json
    os.makedirs(os.path.join(store.releases_dir, ".staging-dddddddddddd-x"))
    fake_release(store, "e" * 12, "2026-01-03T00:00:00Z")
    os.unlink(os.path.join(store.releases_dir, "e" * 12, COMPLETE_MARKER))  # its build did not finish
    assert [entry[0] for entry in store.releases()] == ["a" * 12, "b" * 12]


def test_a_release_whose_venv_was_deleted_is_not_whole(store):
    fake_release(store, "a" * 12, "1", unit_text="[Service]\n")
    assert store.problems("a" * 12) == []
    shutil.rmtree(os.path.join(store.releases_dir, "a" * 12, "venv"))
    assert store.problems("a" * 12) == [f"{store.path('a' * 12)}/venv/bin/python is missing"]
    assert not store.is_complete("a" * 12)


def test_a_release_whose_unit_was_edited_is_not_whole(store):
    fake_release(store, "a" * 12, "1", unit_text="[Service]\n")
    with open(os.path.join(store.path("a" * 12), UNIT), "a") as handle:
        handle.write("ExecStartPre=+/bin/true\n")
    assert store.problems("a" * 12) == [f"{store.path('a' * 12)}/{UNIT} was changed after the build"]


@pytest.fixture
def units(store, tmp_path):
    """A unit directory, and two whole releases a (unit A) and b (unit B) of the store's bot."""
    path = tmp_path / "units"
    path.mkdir()
    fake_release(store, "a" * 12, "1", unit_text="[Service]\nA\n")
    fake_release(store, "b" * 12, "2", unit_text="[Service]\nB\n")
    return path


def test_activate_refuses_a_damaged_release_and_changes_nothing(store, units):
    store.activate("a" * 12, "activated", str(units))
    shutil.rmtree(os.path.join(store.releases_dir, "b" * 12, "venv"))
    with pytest.raises(ReleaseError, match=r"is not whole: .*venv/bin/python is missing; nothing was switched"):
        store.activate("b" * 12, "activated", str(units))
    assert store.current() == "a" * 12
    assert (units / UNIT).read_text() == "[Service]\nA\n"
    assert store.read_state()["current"] == "a" * 12


def test_activate_switches_link_unit_and_state_together(store, units):
    first = store.activate("a" * 12, "activated", str(units))
    assert first == {"previous": None, "switched": True, "unit_changed": True, "repaired": []}
    second = store.activate("b" * 12, "activated", str(units))
    assert second["previous"] == "a" * 12 and second["unit_changed"]
    assert (units / UNIT).read_text() == "[Service]\nB\n"
    state = store.read_state()
    assert (state["current"], state["previous"]) == ("b" * 12, "a" * 12)
    again = store.activate("b" * 12, "activated", str(units))
    assert again == {"previous": "b" * 12, "switched": False, "unit_changed": False, "repaired": []}
    # A unit edited by hand on the host is put back to the release's own.
    (units / UNIT).write_text("[Service]\nhand-edited\n")
    assert store.activate("b" * 12, "activated", str(units))["unit_changed"] is True
    assert (units / UNIT).read_text() == "[Service]\nB\n"


def test_activate_with_an_unwritable_state_file_puts_link_and_unit_back(store, units, monkeypatch):
    store.activate("a" * 12, "activated", str(units))
    real_write = release_module.write_json_atomic

    def disk_full(path, data, mode=0o644, gid=None):
        if path == store.state_file:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(path, data, mode, gid)

    monkeypatch.setattr(release_module, "write_json_atomic", disk_full)
    with pytest.raises(
        ReleaseError, match=r"failed \(No space left on device\); nothing was switched: current points at a{12} again"
    ):
        store.activate("b" * 12, "activated", str(units))
    monkeypatch.undo()
    assert store.current() == "a" * 12
    assert (units / UNIT).read_text() == "[Service]\nA\n"
    assert store.read_state()["current"] == "a" * 12


def test_a_switch_that_died_before_its_state_write_is_repaired_from_the_link(store, tmp_path):
    units = tmp_path / "units"
    units.mkdir()
    fake_release(store, "a" * 12, "1")
    fake_release(store, "b" * 12, "2")
    store.activate("a" * 12, "activated", str(units))
    store.switch("b" * 12)  # a run killed right after the switch: state.json still says a
    outcome = store.activate("b" * 12, "activated", str(units))
    assert outcome["switched"] is False
    assert outcome["repaired"] == [
        f"state.json said the current release is {'a' * 12}, but current points at {'b' * 12}"
    ]
    state = store.read_state()
    assert (state["current"], state["previous"]) == ("b" * 12, "a" * 12)
    assert state["history"][-1]["event"] == "repaired"


def test_a_release_pruned_while_waiting_for_the_lock_is_not_activated(store, tmp_path):
    units = tmp_path / "units"
    units.mkdir()
    fake_release(store, "a" * 12, "1")
    fake_release(store, "b" * 12, "2")
    store.activate("a" * 12, "activated", str(units))
    outcome = {}

    def activate_b():
        try:
            with store.lock():
                store.activate("b" * 12, "activated", str(units))
        except ReleaseError as exc:
            outcome["error"] = str(exc)

    with store.lock():
        waiter = threading.Thread(target=activate_b)
        waiter.start()
        time.sleep(0.3)  # the waiter checked nothing yet: it is blocked on the lock
        shutil.rmtree(store.path("b" * 12))  # what a concurrent prune does
    waiter.join(5)
    assert "does not exist" in outcome["error"]
    assert store.current() == "a" * 12


def test_commit_moves_a_real_venv_and_rewrites_its_paths(store):
    staging = store.new_staging("f" * 12)
    venv = os.path.join(staging, "venv")
    subprocess.run([TARGET_PYTHON, "-m", "venv", venv], check=True)
    assert store.commit(staging, "f" * 12, {"id": "f" * 12}) is True
    final = os.path.join(store.releases_dir, "f" * 12, "venv")
    assert not os.path.exists(staging)
    # Long paths make pip use a /bin/sh exec trampoline instead of a #! line; either way the path is in the text.
    pip = open(os.path.join(final, "bin", "pip")).read()
    assert f"{final}/bin/python" in pip
    assert ".staging-" not in pip
    out = subprocess.run([os.path.join(final, "bin", "pip"), "--version"], capture_output=True, text=True, check=True)
    assert final in out.stdout
    assert "staging" not in open(os.path.join(final, "bin", "activate")).read()


def test_commit_of_a_release_committed_meanwhile_keeps_the_first(store):
    fake_release(store, "a" * 12, "1")
    staging = store.new_staging("a" * 12)
    assert store.commit(staging, "a" * 12, {"id": "a" * 12, "created": "2"}) is False
    assert not os.path.exists(staging)
    assert store.read_release("a" * 12)["created"] == "1"


def test_relocate_leaves_binaries_alone(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(f"home = /usr/bin\ncommand = python3 -m venv {venv}\n")
    (venv / "bin" / "tool").write_text(f"#!{venv}/bin/python\nprint(1)\n")
    (venv / "bin" / "native").write_bytes(b"\x7fELF\0\0" + str(venv).encode())
    (venv / "bin" / "python").symlink_to("/usr/bin/python3")
    assert relocate_venv(str(venv), str(venv), "/opt/new/venv") == ["pyvenv.cfg", "tool"]
    assert (venv / "bin" / "tool").read_text().startswith("#!/opt/new/venv/bin/python")
    assert str(venv).encode() in (venv / "bin" / "native").read_bytes()


def test_lock_times_out_with_a_clear_message(store):
    store.ensure_dirs()
    path = os.path.join(store.state_dir, ".lock")
    holder = BotLock(path, 1)
    with holder:
        started = time.monotonic()
        with pytest.raises(ReleaseError, match="another botfleet run holds"):
            with BotLock(path, 0.3):
                pass
        assert time.monotonic() - started >= 0.3


def test_lock_serializes_two_holders(store):
    store.ensure_dirs()
    path = os.path.join(store.state_dir, ".lock")
    order = []

    def second():
        with BotLock(path, 5):
            order.append("second")

    with BotLock(path, 5):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)
        order.append("first")
    thread.join(5)
    assert order == ["first", "second"]


def test_stale_staging_is_found_by_age(store):
    store.ensure_dirs()
    old = store.new_staging("a" * 12)
    young = store.new_staging("b" * 12)
    os.utime(old, (time.time() - 7 * 3600, time.time() - 7 * 3600))
    assert store.stale_staging() == [os.path.basename(old)]
    assert os.path.basename(young) not in store.stale_staging()


def test_corrupt_state_file_is_reported(store):
    store.ensure_dirs()
    with open(store.state_file, "w") as handle:
        handle.write("{not json")
    with pytest.raises(ReleaseError, match="is not valid JSON"):
        store.read_state()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[]", "it holds a JSON list, not an object"),
        ("null", "it holds a JSON NoneType, not an object"),
        ('"x"', "it holds a JSON str, not an object"),
        ('{"history": 5}', "'history' is a int"),
        ('{"current": "../../etc"}', "'current' is '../../etc', not a release id"),
        ('{"canary": []}', "'canary' is a list"),
    ],
)
def test_a_state_file_of_the_wrong_shape_is_an_error_that_says_how_to_repair(store, content, problem):
    store.ensure_dirs()
    with open(store.state_file, "w") as handle:
        handle.write(content)
    with pytest.raises(ReleaseError) as raised:
        store.read_state()
    message = str(raised.value)
    assert store.state_file in message
    assert problem in message
    assert f"mv {store.state_file} {store.state_file}.bad" in message


def test_smoke_test_reports_the_import_error(venv_factory):
    venv = venv_factory("backoff==2.2.1")
    assert smoke_test(run_command, str(venv), ["backoff"]) is None
    assert smoke_test(run_command, str(venv), ["backoff", "no_such_module_x"]) == (
        "ModuleNotFoundError: No module named 'no_such_module_x'"
    )
    assert smoke_test(run_command, str(venv), []) is None


def test_release_id_covers_the_code_and_the_canary_id_the_code_without_the_configuration():
    unit = {UNIT: "[Service]\nExecStart=/opt/botfleet/barnacles/current/venv/bin/python webex_bots/barnacles.py\n"}
    good, bad = "a" * 40, "b" * 40
    with_good = compute_release_id(STORY_LOCK, CPYTHON_311, unit, source_id=good)
    assert with_good != compute_release_id(STORY_LOCK, CPYTHON_311, unit)
    assert with_good != compute_release_id(STORY_LOCK, CPYTHON_311, unit, source_id=bad)
    # Code alone, without configuration, is a release of its own too.
    assert compute_release_id(STORY_LOCK, CPYTHON_311, source_id=good) != compute_venv_id(STORY_LOCK, CPYTHON_311)
    venv_id = compute_venv_id(STORY_LOCK, CPYTHON_311)
    assert release_module.compute_canary_id(venv_id) == venv_id
    canary = release_module.compute_canary_id(venv_id, good)
    check_release_id(canary)
    assert canary not in (venv_id, release_module.compute_canary_id(venv_id, bad))


def source_archive(tmp_path, entries):
    """A tar archive of (name, text or ('link', target) or ('dir',)) entries; returns (path, sha256)."""
    import io
    import tarfile

    path = tmp_path / "tree.tar"
    with tarfile.open(path, "w") as tar:
        for name, content in entries:
            info = tarfile.TarInfo(name)
            if content == ("dir",):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif isinstance(content, tuple):
                info.type, info.linkname = tarfile.SYMTYPE, content[1]
                tar.addfile(info)
            else:
                data = content.encode()
                info.size, info.mode = len(data), 0o755 if name.endswith(".sh") else 0o600
                tar.addfile(info, io.BytesIO(data))
    return str(path), hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_source_archive_is_unpacked_readable_with_its_links_inside(tmp_path):
    archive, digest = source_archive(
        tmp_path,
        [
            ("webex_bots", ("dir",)),
            ("webex_bots/barnacles.py", "PING = 10\n"),
            ("run.sh", "#!/bin/sh\n"),
            ("latest.py", ("link", "webex_bots/barnacles.py")),
        ],
    )
    app = tmp_path / "app"
    release_module.unpack_source(archive, str(app), digest)
    assert (app / "webex_bots" / "barnacles.py").read_text() == "PING = 10\n"
    assert (app / "latest.py").read_text() == "PING = 10\n"
    assert oct((app / "webex_bots" / "barnacles.py").stat().st_mode & 0o777) == "0o644"
    assert oct((app / "run.sh").stat().st_mode & 0o777) == "0o755"


@pytest.mark.parametrize(
    ("entries", "fragment"),
    [
        ([("../escape.py", "x")], "does not unpack"),
        ([("/etc/cron.d/evil", "x")], "does not unpack"),
        ([("evil", ("link", "/etc/shadow"))], "points outside the tree"),
        ([("sub", ("dir",)), ("sub/up", ("link", "../../x"))], "points outside the tree"),
    ],
)
def test_a_source_archive_that_reaches_outside_its_tree_is_refused_before_anything_is_written(
    tmp_path, entries, fragment
):
    archive, digest = source_archive(tmp_path, entries)
    with pytest.raises(ReleaseError, match=fragment):
        release_module.unpack_source(archive, str(tmp_path / "app"), digest)
    assert os.listdir(tmp_path / "app") == []


def test_a_source_archive_that_is_not_the_exported_one_is_refused(tmp_path):
    archive, _digest = source_archive(tmp_path, [("a.py", "x")])
    with pytest.raises(ReleaseError, match="is not the one the controller exported"):
        release_module.unpack_source(archive, str(tmp_path / "app"), "0" * 64)
    assert not (tmp_path / "app").exists()


def test_a_release_of_code_without_its_app_is_not_whole_and_its_code_is_named(store):
    fake_release(store, "aaaaaaaaaaaa", "2026-11-27T08:00:00Z")
    record = store.read_release("aaaaaaaaaaaa")
    record["source"] = {"kind": "git", "id": "c" * 40, "commit": "c" * 40, "short": "c" * 12, "subject": "Ping"}
    write_json_atomic(os.path.join(store.path("aaaaaaaaaaaa"), "release.json"), record)
    assert store.problems("aaaaaaaaaaaa") == [f"{store.path('aaaaaaaaaaaa')}/app is missing"]
    os.mkdir(os.path.join(store.path("aaaaaaaaaaaa"), "app"))
    assert store.problems("aaaaaaaaaaaa") == []
    assert store.code("aaaaaaaaaaaa") == "cccccccccccc Ping"
    fake_release(store, "bbbbbbbbbbbb", "2026-11-27T09:00:00Z")
    assert store.code("bbbbbbbbbbbb") is None


def test_a_cloned_venv_shares_its_packages_and_owns_its_scripts(tmp_path):
    source = tmp_path / "releases" / "aaaaaaaaaaaa" / "venv"
    (source / "bin").mkdir(parents=True)
    (source / "lib" / "site-packages" / "toydep").mkdir(parents=True)
    package = source / "lib" / "site-packages" / "toydep" / "__init__.py"
    package.write_text("VERSION = '1.0'\n")
    (source / "pyvenv.cfg").write_text(f"home = /usr/bin\ncommand = /usr/bin/python3 -m venv {source}\n")
    (source / "bin" / "toy").write_text(f"#!{source}/bin/python\nimport toydep\n")
    (source / "bin" / "python").symlink_to("/usr/bin/python3")
    clone = tmp_path / "releases" / ".staging-bbbbbbbbbbbb-x" / "venv"
    release_module.clone_venv(str(source), str(clone))
    cloned_package = clone / "lib" / "site-packages" / "toydep" / "__init__.py"
    assert cloned_package.stat().st_ino == package.stat().st_ino
    assert (clone / "bin" / "toy").read_text() == f"#!{clone}/bin/python\nimport toydep\n"
    assert str(clone) in (clone / "pyvenv.cfg").read_text()
    # The release it came from is unchanged.
    assert (source / "bin" / "toy").read_text() == f"#!{source}/bin/python\nimport toydep\n"
    assert str(source) in (source / "pyvenv.cfg").read_text()
    assert os.readlink(clone / "bin" / "python") == "/usr/bin/python3"
