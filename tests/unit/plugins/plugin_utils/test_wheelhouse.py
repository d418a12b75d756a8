"""The wheelhouse id: the digest of what the wheels hold."""

from __future__ import annotations

import os

import pytest
from conftest import make_wheel

from ansible_collections.botfleet.deploy.plugins.lookup.wheelhouse_id import LookupModule
from ansible_collections.botfleet.deploy.plugins.plugin_utils.wheelhouse import WheelhouseError, wheelhouse_id


@pytest.fixture
def house(tmp_path):
    make_wheel(tmp_path / "wheels", "toyapp", "1.0", requires=["toydep"])
    make_wheel(tmp_path / "wheels", "toydep", "1.0")
    return tmp_path / "wheels"


def test_a_wheel_swapped_under_the_same_name_changes_the_id(house):
    before = wheelhouse_id(str(house))
    make_wheel(house, "toydep", "1.0", code="print('other bits')\n")
    assert sorted(os.listdir(house)) == ["toyapp-1.0-py3-none-any.whl", "toydep-1.0-py3-none-any.whl"]
    assert wheelhouse_id(str(house)) != before


def test_the_id_is_the_content_not_the_time_or_other_files(house):
    before = wheelhouse_id(str(house))
    os.utime(house / "toydep-1.0-py3-none-any.whl", (0, 0))
    (house / ".lab-stamp").write_text("stamp\n")
    assert wheelhouse_id(str(house)) == before
    make_wheel(house, "toydep", "2.0")
    assert wheelhouse_id(str(house)) != before


def test_an_unreadable_wheelhouse_is_a_sentence(tmp_path):
    with pytest.raises(WheelhouseError, match=r"wheelhouse .*/nowhere cannot be read: No such file or directory"):
        wheelhouse_id(str(tmp_path / "nowhere"))


def test_the_lookup_returns_one_id_per_directory(house):
    assert LookupModule().run([str(house)], variables={}) == [wheelhouse_id(str(house))]
