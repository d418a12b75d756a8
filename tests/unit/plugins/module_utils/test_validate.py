"""The one validator of strings that reach a unit, an environment file or a path.

The attacks come first: what the bot role's preflight accepted before (its patterns are copied here
as they were) and the validator refuses now; then each check, field by field.
"""

from __future__ import annotations

import re

import pytest

from ansible_collections.botfleet.deploy.plugins.module_utils.validate import (
    absolute_path_problem,
    account_name_problem,
    bot_name_problem,
    control_problem,
    env_name_problem,
    env_value_problem,
    exec_problem,
    optional_unit_path_problem,
    role_value_problems,
    unit_name_problem,
    unit_path_problem,
)

INJECTION = "ExecStartPre=+/bin/sh -c id"
SECRET_KEYS = ["WEBEX_BOT_TOKEN", "DB_PASSWORD"]


def old_preflight_accepts(variable, value):
    """roles/bot/tasks/preflight.yml before validate.py: Ansible's `match` test is re.match."""
    if variable == "botfleet_bot":
        return re.match(r"^[a-z][a-z0-9_-]{0,38}$", value) is not None
    if variable == "botfleet_exec":
        return len(value) > 0 and "\n" not in value
    return True  # botfleet_workdir, botfleet_user, botfleet_group, botfleet_log_dir: not checked at all


ATTACKS = [
    # A newline starts a new directive: ExecStartPre=+ runs as root before the bot.
    ("botfleet_workdir", f"/srv/x\n{INJECTION}"),
    ("botfleet_user", f"botfleet\n{INJECTION}"),
    ("botfleet_group", f"botfleet\n{INJECTION}"),
    ("botfleet_log_dir", f"/var/log/bot\n{INJECTION}"),
    # A space adds '/' to ReadWritePaths=: the whole file system becomes writable for the bot.
    ("botfleet_log_dir", "/var/log/bot /"),
    # '$' accepts a trailing newline: /opt/botfleet/alpha\n/ and botfleet-alpha\n.service.
    ("botfleet_bot", "alpha\n"),
    # systemd expands these into the process arguments, readable by every local user.
    ("botfleet_exec", "-m botfleet_demo_bot --token ${WEBEX_BOT_TOKEN}"),
    ("botfleet_exec", "-m botfleet_demo_bot --token $WEBEX_BOT_TOKEN"),
]


@pytest.mark.parametrize(("variable", "value"), ATTACKS)
def test_the_old_preflight_accepted_the_attack_and_the_validator_refuses_it(variable, value):
    assert old_preflight_accepts(variable, value)
    problems = role_value_problems({variable: value}, SECRET_KEYS)
    assert len(problems) == 1
    assert problems[0].startswith(variable)
    assert "\n" not in problems[0]


def test_the_injected_directive_is_a_line_of_its_own_in_a_unit():
    # What the old preflight let through does to a unit: the second line is a directive of its own.
    unit = f"[Service]\nWorkingDirectory=/srv/x\n{INJECTION}\n"
    assert INJECTION in unit.splitlines()
    assert unit_path_problem(f"/srv/x\n{INJECTION}", "botfleet_workdir") == (
        "botfleet_workdir contains a newline (character 7); give it on one line without control characters"
    )


@pytest.mark.parametrize(
    "value",
    ["\n", "\r", "\t", "\0", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"],
    ids=["LF", "CR", "TAB", "NUL", "ESC", "DEL", "NEL", "LS", "PS"],
)
def test_control_and_line_separator_characters_are_refused_everywhere(value):
    text = f"ab{value}cd"
    assert control_problem(text, "x") is not None
    assert bot_name_problem(text) is not None
    assert account_name_problem(text) is not None
    assert unit_path_problem(f"/srv/{text}") is not None
    assert exec_problem(f"-m {text}") is not None
    assert unit_name_problem(f"{text}.service") is not None


# bot name


@pytest.mark.parametrize("name", ["a", "barnacles", "bot-1", "my_bot", "a" + "b" * 38])
def test_bot_names_that_are_fine(name):
    assert bot_name_problem(name) is None


@pytest.mark.parametrize(
    "name", ["", "Barnacles", "1bot", "-bot", "bot.1", "bot/x", "a" + "b" * 39, "alpha\n", " alpha", "bøt", None]
)
def test_bot_names_that_are_refused(name):
    problem = bot_name_problem(name)
    assert problem is not None
    assert problem.startswith("botfleet_bot ")
    assert "\n" not in problem


def test_a_bad_bot_name_says_what_to_use():
    assert bot_name_problem("Barnacles") == (
        'botfleet_bot "Barnacles" is not usable in paths and unit names: use lower-case letters, digits, '
        "'-' and '_', starting with a letter, at most 39 characters"
    )


# user and group


@pytest.mark.parametrize("name", ["botfleet", "_svc", "Bot-1", "a" * 31])
def test_account_names_that_are_fine(name):
    assert account_name_problem(name, "botfleet_user") is None


@pytest.mark.parametrize("name", ["", "1000", "-bot", "bot fleet", "bot:fleet", "root\n", "a" * 32, "bot$", 1000])
def test_account_names_that_are_refused(name):
    problem = account_name_problem(name, "botfleet_group")
    assert problem is not None
    assert problem.startswith("botfleet_group ")
    assert "\n" not in problem


# unit paths


@pytest.mark.parametrize("path", ["/var/lib/botfleet/barnacles/work", "/srv/bot-1/", "/opt/a.b_c+d,e:f=g@h~i", "/x"])
def test_unit_paths_that_are_fine(path):
    assert unit_path_problem(path, "botfleet_workdir") is None


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("", "is empty; set it to an absolute path"),
        ("srv/bot", "is not an absolute path; give it starting with '/'"),
        ("/srv/my bot", "contains whitespace, which separates paths in a unit"),
        ("/srv/bot\u00a0x", "contains whitespace"),
        ("/srv/bot%h", "contains '%', which systemd expands as a specifier"),
        ("/srv/bot%%h", "contains '%'"),
        ('/srv/"bot"', 'contains "\\""; use letters, digits'),
        ("/srv/bot\\x", 'contains "\\\\"; use letters, digits'),
        ("/srv/$HOME", 'contains "$"'),
        ("/srv/../etc", "has an empty, '.' or '..' component"),
        ("/srv/./bot", "has an empty, '.' or '..' component"),
        ("/srv//bot", "has an empty, '.' or '..' component"),
        ("/", "is '/', the whole file system"),
        ("//", "is '/', the whole file system"),
        ("/" + "a" * 4095, "is not a usable absolute path (at most 4095 characters)"),
        ("/srv/x\nExecStartPre=+/bin/sh -c id", "contains a newline (character 7)"),
        (["/srv"], "must be a string"),
    ],
)
def test_unit_paths_that_are_refused(path, says):
    problem = unit_path_problem(path, "botfleet_workdir")
    assert problem is not None
    assert problem.startswith("botfleet_workdir ")
    assert says in problem


def test_the_log_dir_may_be_empty_but_not_wrong():
    assert optional_unit_path_problem("", "botfleet_log_dir") is None
    assert optional_unit_path_problem("/var/log/botfleet", "botfleet_log_dir") is None
    assert "not an absolute path" in optional_unit_path_problem("logs", "botfleet_log_dir")


# unit names


@pytest.mark.parametrize(
    "unit", ["botfleet-barnacles.service", "barnacles", "-.mount", "getty@tty1.service", "foo@.service", "a\\x2db"]
)
def test_unit_names_that_are_fine(unit):
    assert unit_name_problem(unit) is None


@pytest.mark.parametrize("unit", ["", "a b", "a/b.service", "*.service", "a@b@c.service", "x" * 256, "u\n", None])
def test_unit_names_that_are_refused(unit):
    assert unit_name_problem(unit, "unit").startswith("unit ")


# botfleet_exec


@pytest.mark.parametrize(
    "value",
    [
        "-m botfleet_demo_bot",
        "-m bot --name ${WEBEX_BOT_NAME}",  # not a secret
        "-m bot --price $$WEBEX_BOT_TOKEN",  # '$$' is a literal '$': nothing is expanded
        "-m bot --sep \\;",
        "-m bot --opt=a;b",
    ],
)
def test_exec_values_that_are_fine(value):
    assert exec_problem(value, SECRET_KEYS) is None


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "botfleet_exec is empty; set it to the arguments of the release's python"),
        ("   ", "botfleet_exec is empty"),
        ("-m bot ${WEBEX_BOT_TOKEN}", "refers to the secret WEBEX_BOT_TOKEN (${WEBEX_BOT_TOKEN})"),
        ("-m bot $DB_PASSWORD", "refers to the secret DB_PASSWORD ($DB_PASSWORD)"),
        ("-m bot --x=$$$DB_PASSWORD", "refers to the secret DB_PASSWORD"),
        ("-m bot\nExecStartPre=+/bin/sh -c id", "botfleet_exec contains a newline (character 7)"),
        ("-m bot\r", "contains a carriage return"),
        ("-m bot ; /bin/sh -c id", "holds a lone ';', which starts a second command"),
        (None, "must be a string"),
    ],
)
def test_exec_values_that_are_refused(value, says):
    problem = exec_problem(value, SECRET_KEYS)
    assert problem is not None
    assert says in problem


def test_an_exec_problem_never_quotes_the_value():
    value = "-m bot --token=s3cr3t-literal ${WEBEX_BOT_TOKEN}"
    assert "s3cr3t" not in exec_problem(value, SECRET_KEYS)
    assert "s3cr3t" not in exec_problem(value.replace("${WEBEX_BOT_TOKEN}", "\n"), SECRET_KEYS)


# the role's variables together


def test_role_values_that_are_fine_have_no_problems():
    assert (
        role_value_problems(
            {
                "botfleet_bot": "barnacles",
                "botfleet_user": "botfleet",
                "botfleet_group": "botfleet",
                "botfleet_workdir": "/var/lib/botfleet/barnacles/work",
                "botfleet_log_dir": "",
                "botfleet_exec": "-m botfleet_demo_bot",
            },
            SECRET_KEYS,
        )
        == []
    )


def test_every_bad_role_value_is_listed_in_order():
    problems = role_value_problems(
        {"botfleet_bot": "Alpha", "botfleet_workdir": "relative", "botfleet_exec": "-m x $WEBEX_BOT_TOKEN"},
        SECRET_KEYS,
    )
    assert [p.split(" ", 1)[0] for p in problems] == ["botfleet_bot", "botfleet_workdir", "botfleet_exec"]


def test_a_variable_without_a_check_is_an_error_of_the_caller():
    with pytest.raises(ValueError, match="no check for botfleet_pins; checked are botfleet_bot, "):
        role_value_problems({"botfleet_pins": {}})


@pytest.mark.parametrize("variable", ["botfleet_root", "botfleet_state_dir", "botfleet_config_dir"])
@pytest.mark.parametrize(
    ("value", "says"),
    [
        (f"/opt/botfleet\n{INJECTION}", "contains a newline"),
        ("/opt/bot fleet", "contains whitespace"),
        ("/opt/%h", "contains '%'"),
        ("opt/botfleet", "is not an absolute path"),
        ("/", "the whole file system"),
    ],
)
def test_the_layout_directories_in_the_unit_are_checked_like_the_workdir(variable, value, says):
    # ExecStart=, EnvironmentFile= and Documentation= of the unit start with them; the old preflight had no check.
    problems = role_value_problems({variable: value})
    assert len(problems) == 1
    assert problems[0].startswith(variable)
    assert says in problems[0]


def test_the_layout_directories_that_are_fine():
    assert (
        role_value_problems(
            {
                "botfleet_root": "/opt/botfleet",
                "botfleet_state_dir": "/var/lib/botfleet",
                "botfleet_config_dir": "/etc/botfleet",
            }
        )
        == []
    )


@pytest.mark.parametrize("key", ["WEBEX_BOT_TOKEN", "_x", "a1"])
def test_env_names_that_are_fine(key):
    assert env_name_problem(key) is None


@pytest.mark.parametrize("key", ["TOKEN\n", "1A", "A-B", "A B", "", "A=B", 5, None])
def test_env_names_that_are_refused(key):
    problem = env_name_problem(key, "botfleet_secrets")
    assert problem.startswith("botfleet_secrets: ")
    assert "\n" not in problem


@pytest.mark.parametrize("value", ["s3cret\n", "a\rb", "a\x00b", "a\u2029b", ["a"], {"a": 1}, None])
def test_env_values_that_are_refused_never_quote_the_value(value):
    problem = env_value_problem("WEBEX_BOT_TOKEN", value, "botfleet_secrets")
    assert problem.startswith("botfleet_secrets: ")
    assert "WEBEX_BOT_TOKEN" in problem
    assert "s3cret" not in problem


@pytest.mark.parametrize("value", ["s3cret", "", 8790, 'a b "c" $d %e'])
def test_env_values_that_are_fine(value):
    assert env_value_problem("X", value) is None


@pytest.mark.parametrize("path", ["/opt/botfleet", "/tmp/pytest-of-root/x y/state", "/a/./b"])
def test_absolute_paths_that_modules_take(path):
    assert absolute_path_problem(path, "root") is None


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/opt/botfleet\n", "root contains a newline"),
        ("opt/botfleet", "is not an absolute path"),
        ("/opt/../etc", "has a '..' component"),
        ("/" + "a" * 4096, "longer than 4095"),
        (None, "must be a string"),
    ],
)
def test_absolute_paths_that_modules_refuse(path, says):
    assert says in absolute_path_problem(path, "root")
