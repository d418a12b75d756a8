"""Resolving a release's lock on the controller with uv, from a wheelhouse of real (tiny) wheels."""

from __future__ import annotations

import io
import subprocess
import tarfile

import pytest
from conftest import make_wheel, wheel_hash

from ansible_collections.botfleet.deploy.plugins.module_utils.lock import format_lock, lock_versions
from ansible_collections.botfleet.deploy.plugins.plugin_utils import lock as lock_module
from ansible_collections.botfleet.deploy.plugins.plugin_utils.lock import (
    LockFailed,
    compile_argv,
    compile_environment,
    find_uv,
    lock_cache_key,
    python_platform,
    resolve_lock,
    restrict_hashes,
)
from ansible_collections.botfleet.deploy.plugins.plugin_utils.pins import parse_pins


@pytest.fixture(autouse=True)
def lock_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BOTFLEET_LOCK_CACHE", str(tmp_path / "lock-cache"))
    return tmp_path / "lock-cache"


DEBIAN_12 = {
    "implementation": "cpython",
    "version": "3.11.2",
    "machine": "x86_64",
    "system": "Linux",
    "libc": ["glibc", "2.36"],
}


@pytest.mark.parametrize(
    ("facts", "platform"),
    [
        ({}, "x86_64-manylinux_2_36"),
        ({"libc": ["glibc", "2.41"]}, "x86_64-manylinux_2_40"),
        ({"libc": ["glibc", "2.30"]}, "x86_64-manylinux_2_28"),
        ({"machine": "aarch64", "libc": ["glibc", "2.17"]}, "aarch64-manylinux_2_17"),
        ({"libc": ["", ""]}, "x86_64-unknown-linux-musl"),
    ],
)
def test_python_platform_follows_the_targets_machine_and_glibc(facts, platform):
    assert python_platform(dict(DEBIAN_12, **facts)) == platform


@pytest.mark.parametrize(
    ("facts", "fragment"),
    [
        ({"system": "Darwin"}, "botfleet locks releases for Linux"),
        ({"machine": "riscv64"}, "botfleet locks releases for Linux"),
        ({"libc": ["glibc", "2.12"]}, "older than manylinux_2_17"),
    ],
)
def test_python_platform_refuses_what_it_cannot_lock_for(facts, fragment):
    with pytest.raises(LockFailed, match=fragment):
        python_platform(dict(DEBIAN_12, **facts))


def test_compile_is_binary_only_offline_and_for_the_targets_python():
    sources = {"offline": True, "find_links": ["/wheels"]}
    argv = compile_argv("uv", DEBIAN_12, sources, [], "/tmp/o.txt", "/tmp/r.in")
    assert argv[:3] == ["uv", "pip", "compile"]
    assert "--generate-hashes" in argv
    assert argv[argv.index("--python-version") + 1] == "3.11.2"
    assert argv[argv.index("--python-platform") + 1] == "x86_64-manylinux_2_36"
    assert argv[argv.index("--only-binary") + 1] == ":all:"
    assert {"--offline", "--no-index"} <= set(argv)
    assert argv[argv.index("--override") + 1] == "/tmp/o.txt"
    online = compile_argv("uv", DEBIAN_12, {"offline": False, "find_links": []}, ["toysrc"], None, "/tmp/r.in")
    assert "--only-binary" not in online and "--offline" not in online and "--override" not in online


def test_compile_environment_keeps_index_urls_off_the_command_line(monkeypatch):
    monkeypatch.setenv("UV_INDEX", "https://other.example/simple")
    online = compile_environment({"offline": False, "index_url": "https://bot:tok@idx.example/simple"})
    assert online["UV_INDEX_URL"] == "https://bot:tok@idx.example/simple"
    offline = compile_environment({"offline": True, "index_url": "https://bot:tok@idx.example/simple"})
    assert "UV_INDEX_URL" not in offline and "UV_INDEX" not in offline
    assert offline["UV_OFFLINE"] == "1"


@pytest.fixture
def wheelhouse(tmp_path):
    house = tmp_path / "wheelhouse"
    make_wheel(house, "toyapp", "1.0", requires=["toydep"])
    make_wheel(house, "toydep", "1.0")
    make_wheel(house, "toystrict", "1.0", requires=["toydep==1.0"])
    return house


def resolve(house, pins, allowed=(), **kwargs):
    sources = {"offline": True, "find_links": [str(house)]}
    return resolve_lock(parse_pins(pins), [], list(allowed), DEBIAN_12, sources, **kwargs)


def test_the_lock_holds_every_distribution_with_the_hash_of_its_file(wheelhouse):
    lock = resolve(wheelhouse, {"toyapp": "1.0"})
    assert lock == {
        "toyapp": {"version": "1.0", "hashes": [wheel_hash(wheelhouse / "toyapp-1.0-py3-none-any.whl")]},
        "toydep": {"version": "1.0", "hashes": [wheel_hash(wheelhouse / "toydep-1.0-py3-none-any.whl")]},
    }
    # Resolved again: the same bytes.
    assert format_lock(resolve(wheelhouse, {"toyapp": "1.0"})) == format_lock(lock)


def test_an_unpinned_dependency_resolved_otherwise_is_another_lock(wheelhouse):
    before = resolve(wheelhouse, {"toyapp": "1.0"})
    make_wheel(wheelhouse, "toydep", "2.0")
    after = resolve(wheelhouse, {"toyapp": "1.0"})
    assert lock_versions(before)["toydep"] == "1.0"
    assert lock_versions(after)["toydep"] == "2.0"


def test_allowed_conflicts_are_locked_as_overrides(wheelhouse):
    make_wheel(wheelhouse, "toydep", "2.0")
    with pytest.raises(LockFailed, match="list the package in allow_conflicts"):
        resolve(wheelhouse, {"toystrict": "1.0", "toydep": "2.0"})
    lock = resolve(wheelhouse, {"toystrict": "1.0", "toydep": "2.0"}, allowed=["toydep"])
    assert lock_versions(lock) == {"toydep": "2.0", "toystrict": "1.0"}
    assert lock["toydep"]["hashes"] == [wheel_hash(wheelhouse / "toydep-2.0-py3-none-any.whl")]


def sdist(directory, name, version):
    path = directory / f"{name}-{version}.tar.gz"
    pkg_info = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo(f"{name}-{version}/PKG-INFO")
        info.size = len(pkg_info)
        archive.addfile(info, io.BytesIO(pkg_info))
    return path


def test_source_distributions_are_refused_unless_allowed(wheelhouse):
    sdist(wheelhouse, "toysrc", "1.0")
    with pytest.raises(LockFailed, match="add it to allow_sdists"):
        resolve(wheelhouse, {"toysrc": "1.0"})


def test_a_missing_wheelhouse_or_uv_is_a_sentence(tmp_path, monkeypatch):
    with pytest.raises(LockFailed, match="is not a directory there; give the controller's copy of the wheelhouse"):
        resolve(tmp_path / "nowhere", {"toyapp": "1.0"})
    monkeypatch.setattr(lock_module, "find_uv", lambda: None)
    with pytest.raises(LockFailed, match="resolved on the controller with uv, which is neither next to"):
        resolve(tmp_path, {"toyapp": "1.0"})


def test_given_hashes_narrow_the_lock_and_wrong_ones_are_refused(wheelhouse):
    lock = resolve(wheelhouse, {"toyapp": "1.0"})
    right = wheel_hash(wheelhouse / "toydep-1.0-py3-none-any.whl")
    assert restrict_hashes(lock, {"toydep": [right, "sha256:" + "1" * 64]}) == lock
    with pytest.raises(LockFailed, match=r"none of sha256:0+ is a file of toydep 1\.0 as locked"):
        restrict_hashes(lock, {"toydep": ["sha256:" + "0" * 64]})
    with pytest.raises(LockFailed, match="toyother is not in the release's lock"):
        restrict_hashes(lock, {"toyother": [right]})


class CountingRun:
    """subprocess.run, counted: how many times uv resolved."""

    def __init__(self):
        self.calls = 0

    def __call__(self, argv, check=False, **kwargs):
        self.calls += 1
        return subprocess.run(argv, check=check, **kwargs)


def test_an_offline_lock_is_resolved_once_until_a_wheel_changes(wheelhouse, lock_cache):
    run = CountingRun()
    first = resolve(wheelhouse, {"toyapp": "1.0"}, run=run)
    assert resolve(wheelhouse, {"toyapp": "1.0"}, run=run) == first
    assert run.calls == 1 and len(list(lock_cache.iterdir())) == 1
    # Other pins, or a wheel rebuilt under the same name: resolved again.
    resolve(wheelhouse, {"toyapp": "1.0", "toydep": "1.0"}, run=run)
    assert run.calls == 2
    make_wheel(wheelhouse, "toydep", "1.0", code="print('rebuilt')\n")
    rebuilt = resolve(wheelhouse, {"toyapp": "1.0"}, run=run)
    assert run.calls == 3
    assert rebuilt["toydep"]["hashes"] != first["toydep"]["hashes"]


def test_a_damaged_cache_entry_is_resolved_again(wheelhouse, lock_cache):
    run = CountingRun()
    first = resolve(wheelhouse, {"toyapp": "1.0"}, run=run)
    for entry in lock_cache.iterdir():
        entry.write_text("not a lock\n")
    assert resolve(wheelhouse, {"toyapp": "1.0"}, run=run) == first
    assert run.calls == 2


def test_a_lock_from_an_index_is_never_cached(wheelhouse):
    key = lock_cache_key(
        find_uv(), ["toyapp==1.0"], [], DEBIAN_12, {"offline": False, "find_links": [str(wheelhouse)]}, []
    )
    assert key is None
