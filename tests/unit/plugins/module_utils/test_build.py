"""The build user and the sealing of a finished release."""

from __future__ import annotations

import os
import pwd
import stat

import pytest

from ansible_collections.botfleet.deploy.plugins.module_utils.build import (
    BuildUser,
    BuildUserError,
    seal,
    writable_by_others,
)


def test_the_build_user_runs_commands_without_root_groups_or_capabilities():
    nobody = pwd.getpwnam("nobody")
    user = BuildUser("nobody", "/usr/bin/setpriv", euid=0)
    assert user.argv(["uv", "venv"]) == [
        "/usr/bin/setpriv",
        f"--reuid={nobody.pw_uid}",
        f"--regid={nobody.pw_gid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--",
        "uv",
        "venv",
    ]


def test_the_build_environment_stays_in_the_staging_directory():
    env = BuildUser.environment("/opt/botfleet/b/releases/.staging-x")
    assert {env["HOME"], env["TMPDIR"]} == {"/opt/botfleet/b/releases/.staging-x/.build-home"}
    assert env["UV_CACHE_DIR"].startswith(env["HOME"] + "/")


@pytest.mark.parametrize(
    ("name", "setpriv", "fragment"),
    [
        ("botfleet-no-such-user", "/usr/bin/setpriv", "does not exist on this host; the bot_host role creates it"),
        ("root", "/usr/bin/setpriv", "the build user root is root; give an unprivileged user"),
        ("nobody", None, "setpriv (util-linux) is not on this host's PATH"),
    ],
)
def test_an_unusable_build_user_is_a_sentence(name, setpriv, fragment):
    with pytest.raises(BuildUserError) as failure:
        BuildUser(name, setpriv, euid=0)
    assert fragment in str(failure.value)


def test_without_root_or_without_a_name_commands_run_as_they_are():
    assert BuildUser("nobody", "/usr/bin/setpriv", euid=1000).argv(["uv"]) == ["uv"]
    assert BuildUser("", "/usr/bin/setpriv", euid=0).argv(["uv"]) == ["uv"]


def test_seal_leaves_nothing_writable_but_by_its_owner_and_no_setuid(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    lock = venv / ".lock"
    lock.write_text("")
    lock.chmod(0o666)  # as uv leaves it
    tool = venv / "bin" / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o4775)
    (venv / "bin").chmod(0o777)
    (venv / "bin" / "python").symlink_to("/usr/bin/python3")
    assert writable_by_others(str(tmp_path)) == ["venv/.lock", "venv/bin", "venv/bin/tool"]
    assert seal(str(tmp_path)) == ["venv/.lock", "venv/bin"]
    assert writable_by_others(str(tmp_path)) == []
    assert stat.S_IMODE(lock.stat().st_mode) == 0o644
    assert stat.S_IMODE(tool.stat().st_mode) == 0o755
    assert os.readlink(venv / "bin" / "python") == "/usr/bin/python3"
    if os.geteuid() == 0:
        assert {(p.lstat().st_uid, p.lstat().st_gid) for p in tmp_path.rglob("*")} == {(0, 0)}
