"""PEP 440 pins, plans and conflicts, with the real packaging library."""

from __future__ import annotations

import pytest

from ansible_collections.botfleet.deploy.plugins.plugin_utils.pins import (
    PinError,
    find_conflicts,
    offline_problems,
    parse_hashes,
    parse_pin,
    parse_pins,
    parse_requirements,
    plan,
    refusal_message,
    requirement_changes,
    split_conflicts,
    split_forced,
)

MARKERS = {
    "implementation_name": "cpython",
    "implementation_version": "3.11.2",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_release": "6.1.0",
    "platform_system": "Linux",
    "platform_version": "#1 SMP",
    "python_full_version": "3.11.2",
    "platform_python_implementation": "CPython",
    "python_version": "3.11",
    "sys_platform": "linux",
}


def dists(*entries):
    """Probe-shaped distributions from (name, version, requires) tuples."""
    return {
        name.lower(): {"name": name, "version": version, "requires": list(requires)}
        for name, version, requires in entries
    }


WEBEX_BOT_108 = ("webex_bot", "1.0.8", ["websockets==11.0.3", "webexpythonsdk==2.0.4", "backoff", "coloredlogs"])


@pytest.mark.parametrize(
    ("value", "requirement", "exact"),
    [
        ("14.2", "websockets==14.2", "14.2"),
        ("==14.2", "websockets==14.2", "14.2"),
        (">=14,<15", "websockets<15,>=14", None),
        ("~=16.0", "websockets~=16.0", None),
        ("==16.*", "websockets==16.*", None),
        (" 16.1 ", "websockets==16.1", "16.1"),
        (16.1, "websockets==16.1", "16.1"),
    ],
)
def test_parse_pin_accepts_versions_and_specifiers(value, requirement, exact):
    pin = parse_pin("websockets", value)
    assert pin.requirement == requirement
    assert pin.exact_version == exact


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("websockets", ">>14", "'>>14' is not a valid PEP 440 version or specifier"),
        ("websockets", "14.x", "'14.x' is not a valid PEP 440 version"),
        ("websockets", "", "pin for websockets is empty"),
        ("websockets", None, "pin for websockets is empty"),
        ("bad name!", "1.0", "'bad name!' is not a valid Python package name"),
        ("websockets", "latest", "'latest' is not a valid PEP 440 version or specifier"),
    ],
)
def test_parse_pin_names_the_bad_value(name, value, fragment):
    with pytest.raises(PinError, match=None) as info:
        parse_pin(name, value)
    assert fragment in str(info.value)


def test_parse_pins_refuses_two_spellings_of_one_package():
    with pytest.raises(PinError, match="webex-bot twice"):
        parse_pins({"webex_bot": "1.3.1", "Webex-Bot": "1.3.0"})


def test_parse_pins_refuses_a_list():
    with pytest.raises(PinError, match="mapping"):
        parse_pins(["websockets==14.2"])


def test_parse_pins_normalizes_names():
    assert sorted(parse_pins({"Webex_Bot": "1.3.1", "websockets": "16.1"})) == ["webex-bot", "websockets"]


@pytest.mark.parametrize(
    ("version", "satisfied"),
    [("16.1", True), ("16.1.0", True), ("16.0", False), ("17.0", False), (None, False), ("16.1rc1", False)],
)
def test_exact_pin_satisfaction(version, satisfied):
    assert parse_pin("websockets", "16.1").satisfied_by(version) is satisfied


def test_range_pin_accepts_prereleases_that_are_installed():
    # An installed pre-release inside the range satisfies it: the pin describes the venv, not a resolver choice.
    assert parse_pin("websockets", ">=16,<17").satisfied_by("16.1rc1")


def test_plan_lists_only_unsatisfied_pins_with_direction():
    pins = parse_pins({"webex_bot": "1.3.1", "websockets": "11.0.3", "backoff": "2.2.1", "coloredlogs": ">=15"})
    versions = {"webex-bot": "1.0.8", "websockets": "14.2", "backoff": "2.2.1"}
    assert plan(pins, versions) == [
        {"name": "coloredlogs", "before": None, "after": ">=15", "action": "install"},
        {"name": "webex-bot", "before": "1.0.8", "after": "1.3.1", "action": "upgrade"},
        {"name": "websockets", "before": "14.2", "after": "11.0.3", "action": "downgrade"},
    ]


def test_plan_is_empty_when_everything_is_satisfied():
    pins = parse_pins({"webex_bot": "1.0.8", "websockets": ">=11,<12"})
    assert plan(pins, {"webex-bot": "1.0.8", "websockets": "11.0.3"}) == []


def test_conflict_in_words_for_the_story_pair():
    conflicts = find_conflicts(
        dists(
            WEBEX_BOT_108,
            ("websockets", "14.2", []),
            ("webexpythonsdk", "2.0.4", []),
            ("backoff", "2.2.1", []),
            ("coloredlogs", "15.0.1", []),
        ),
        MARKERS,
    )
    assert [c.message for c in conflicts] == ["webex-bot 1.0.8 requires websockets==11.0.3, installed 14.2"]
    assert conflicts[0].dependency == "websockets"


def test_missing_dependency_is_a_conflict():
    conflicts = find_conflicts(dists(("webex_bot", "1.3.1", ["websockets==16.1"])), MARKERS)
    assert [c.message for c in conflicts] == ["webex-bot 1.3.1 requires websockets==16.1, which is not installed"]


@pytest.mark.parametrize(
    ("requirement", "conflicts"),
    [
        ('pywin32>=300; sys_platform == "win32"', 0),
        ('tomli>=1; python_version < "3.11"', 0),
        ('tomli>=1; python_version >= "3.11"', 1),
        ('pytest; extra == "test"', 0),
    ],
)
def test_markers_are_evaluated_in_the_venvs_environment(requirement, conflicts):
    assert len(find_conflicts(dists(("app", "1.0", [requirement])), MARKERS)) == conflicts


def test_no_conflict_when_requirements_hold():
    assert (
        find_conflicts(dists(("webex_bot", "1.3.1", ["websockets==16.1"]), ("websockets", "16.1", [])), MARKERS) == []
    )


def test_unparseable_requirement_metadata_is_skipped():
    assert find_conflicts(dists(("odd", "1.0", ["this is not a requirement ((("])), MARKERS) == []


def test_split_conflicts_by_required_package():
    conflicts = find_conflicts(
        dists(
            WEBEX_BOT_108,
            ("websockets", "14.2", []),
            ("webexpythonsdk", "2.0.6", []),
            ("backoff", "2.2.1", []),
            ("coloredlogs", "15.0.1", []),
        ),
        MARKERS,
    )
    refused, accepted = split_conflicts(conflicts, ["WebSockets"])
    assert [c.dependency for c in accepted] == ["websockets"]
    assert [c.dependency for c in refused] == ["webexpythonsdk"]
    assert refusal_message(refused) == (
        "declared-requirement conflict: webex-bot 1.0.8 requires webexpythonsdk==2.0.4, installed 2.0.6; "
        "add webexpythonsdk to allow_conflicts to accept this"
    )


def test_refusal_message_names_the_inventory_variable_when_asked():
    conflicts = find_conflicts(dists((*WEBEX_BOT_108[:2], ["websockets==11.0.3"]), ("websockets", "14.2", [])), MARKERS)
    assert "add websockets to botfleet_allow_conflicts" in refusal_message(conflicts, "botfleet_allow_conflicts")


def test_split_forced_pins():
    resolved, forced = split_forced(parse_pins({"webex_bot": "1.0.8", "websockets": "14.2"}), ["websockets"])
    assert list(resolved) == ["webex-bot"]
    assert list(forced) == ["websockets"]


def test_parse_requirements_validates_pep508():
    assert parse_requirements(["botfleet-demo-bot==0.1.0", "  ", "x @ file:///tmp/x.whl"]) == [
        "botfleet-demo-bot==0.1.0",
        "x @ file:///tmp/x.whl",
    ]
    with pytest.raises(PinError, match="'demo bot' is not a valid PEP 508 requirement"):
        parse_requirements(["demo bot"])


def test_requirement_changes():
    versions = {"botfleet-demo-bot": "0.1.0"}
    assert requirement_changes(["botfleet-demo-bot>=0.1"], versions) == []
    assert requirement_changes(["botfleet-demo-bot>=0.2"], versions) == [
        {"name": "botfleet-demo-bot", "before": "0.1.0", "after": ">=0.2", "action": "upgrade"}
    ]
    assert requirement_changes(["backoff"], versions)[0]["action"] == "install"


def test_hashes_need_exact_pins_and_valid_digests():
    pins = parse_pins({"websockets": "14.2", "backoff": ">=2"})
    digest = "sha256:" + "ab" * 32
    assert parse_hashes({"websockets": digest}, pins) == {"websockets": [digest]}
    with pytest.raises(PinError, match="needs an exact pin of backoff"):
        parse_hashes({"backoff": [digest]}, pins)
    with pytest.raises(PinError, match="not of the form sha256"):
        parse_hashes({"websockets": ["md5:00"]}, pins)
    with pytest.raises(PinError, match="not of the form sha256"):
        parse_hashes({"websockets": ["sha256:xyz"]}, pins)


@pytest.mark.parametrize(
    "line",
    [
        "evil @ file:///tmp/evil-1.0-py3-none-any.whl",
        "evil @ https://example.com/evil-1.0-py3-none-any.whl",
        "evil @ git+https://example.com/evil.git",
    ],
)
def test_offline_refuses_url_and_path_requirements(line):
    problems = offline_problems([line, "backoff==2.2.1"], ["/var/cache/botfleet/wheelhouse"])
    assert len(problems) == 1
    assert "names a URL or a path" in problems[0] and "require evil by name" in problems[0]


def test_offline_refuses_find_links_urls_and_hides_their_credentials():
    problems = offline_problems([], ["/wheels", "file:///wheels", "https://bot:s3cret@wheels.example/"])
    assert problems == [
        "find_links 'https://***@wheels.example/' is a URL; with offline=true give local directories only"
    ]


def test_offline_accepts_names_and_local_wheelhouses():
    assert offline_problems(["botfleet-demo-bot==0.1.1"], ["/var/cache/botfleet/wheelhouse"]) == []
