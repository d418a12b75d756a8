# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one validator of strings that reach a systemd unit, an environment file or a path.

Standard library only: modules use it on the target, the filter unit_value_problems on the
controller (the bot role's preflight).

Every check is a full match (``re.fullmatch``): ``^...$`` with ``re.match`` accepts a trailing
newline, so ``"alpha\\n"`` would pass as a bot name and a newline in a unit value starts a new
directive (``WorkingDirectory=/srv/x\\nExecStartPre=+/bin/sh -c id`` runs a command as root).
Newlines and other control characters are refused in every value.

Each ``*_problem`` function returns one sentence that names the value and says what to change, or
None when the value is fine. The sentences quote values with ``json.dumps`` (a newline shows as
``\\n``), except botfleet_exec, whose value may hold anything and is never quoted.
"""

from __future__ import annotations

import json
import re
import unicodedata

BOT_NAME = re.compile(r"[a-z][a-z0-9_-]{0,38}")
# systemd's strict user and group names (systemd.exec User=, useradd on Debian): at most 31 characters.
ACCOUNT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,30}")
# systemd's unit name characters; '@' once, between a template's name and its instance; 255 at most.
UNIT_NAME = re.compile(r"[A-Za-z0-9:_.\\-]+(?:@[A-Za-z0-9:_.\\-]*)?")
UNIT_NAME_MAX = 255
# Characters of a path that systemd reads literally in WorkingDirectory= and ReadWritePaths=:
# no whitespace (a separator in ReadWritePaths=), no quotes or backslash (unquoted, unescaped),
# no '%' (a specifier such as %h; refused rather than escaped, because the same string also names
# the directory the role creates, where '%%' would be two characters).
PATH_CHARACTER = re.compile(r"[A-Za-z0-9._+,:=@~/-]")
UNIT_PATH = re.compile(r"(?:/[A-Za-z0-9._+,:=@~-]+)+/?")
PATH_MAX = 4095
# systemd expands $NAME and ${NAME} in ExecStart= (and '$$' is a literal '$').
EXEC_REFERENCE = re.compile(r"\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
# A name the environment files and systemd take (a shell identifier).
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CONTROL_NAMES = {"\n": "a newline", "\r": "a carriage return", "\t": "a tab", "\0": "a NUL character"}


def shown(value):
    """``value`` quoted for a message on one line: control and non-ASCII characters escaped."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


def control_problem(value, label):
    """A sentence naming the first newline or control character in ``value``; None when there is none."""
    for position, char in enumerate(value):
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            what = CONTROL_NAMES.get(char, f"the control character U+{ord(char):04X}")
            return f"{label} contains {what} (character {position + 1}); give it on one line without control characters"
    return None


def _string_problem(value, label):
    if not isinstance(value, str):
        return f"{label} must be a string, not {shown(value)}"
    return control_problem(value, label)


def _name_problem(value, label, pattern, complaint):
    """A string that must match ``pattern`` all through; ``complaint`` says what it is not, and what to use."""
    problem = _string_problem(value, label)
    if problem is None and not pattern.fullmatch(value):
        problem = f"{label} {shown(value)} {complaint}"
    return problem


def bot_name_problem(value, label="botfleet_bot"):
    """The bot's name: it is part of paths and of the unit name botfleet-<bot>.service."""
    return _name_problem(
        value,
        label,
        BOT_NAME,
        "is not usable in paths and unit names: use lower-case letters, digits, '-' and '_', starting with a "
        "letter, at most 39 characters",
    )


def account_name_problem(value, label="botfleet_user"):
    """A user or group name for User=/Group= of a unit."""
    return _name_problem(
        value,
        label,
        ACCOUNT_NAME,
        "is not a user or group name systemd accepts: use letters, digits, '-' and '_', starting with a letter "
        "or '_', at most 31 characters",
    )


def unit_name_problem(value, label="unit"):
    """A systemd unit name as systemctl and journalctl take it (``botfleet-barnacles.service``).

    A name may start with '-' (``-.mount``): callers pass it after ``--``.
    """
    if not isinstance(value, str):
        return f"{label} must be a string, not {shown(value)}"
    if len(value) <= UNIT_NAME_MAX and UNIT_NAME.fullmatch(value):
        return None
    return (
        f"{label} {shown(value)} is not a systemd unit name: use letters, digits and ':', '-', '_', '.', '\\', "
        f"with at most one '@' (template@instance.service), at most {UNIT_NAME_MAX} characters"
    )


def unit_path_problem(value, label="botfleet_workdir", optional=False):
    """An absolute path that a unit names (WorkingDirectory=, ReadWritePaths=) and the role creates.

    With ``optional``, the empty string (no such path) is fine.
    """
    problem = _string_problem(value, label)
    if problem is not None:
        return problem
    if value == "":
        return None if optional else f"{label} is empty; set it to an absolute path such as /var/lib/botfleet/bot/work"
    if not value.startswith("/"):
        return f"{label} {shown(value)} is not an absolute path; give it starting with '/'"
    if any(char.isspace() for char in value):
        return f"{label} {shown(value)} contains whitespace, which separates paths in a unit; choose a path without it"
    if "%" in value:
        return (
            f"{label} {shown(value)} contains '%', which systemd expands as a specifier (%h, %t, ...); "
            "choose a path without '%'"
        )
    odd = sorted({char for char in value if not PATH_CHARACTER.fullmatch(char)})
    if odd:
        return (
            f"{label} {shown(value)} contains {', '.join(shown(c) for c in odd)}; use letters, digits, '/' "
            "and . _ - + , : = @ ~"
        )
    components = value.rstrip("/").split("/")[1:]
    if not components:
        return f"{label} is '/', the whole file system; give the bot a directory of its own"
    if any(part in ("", ".", "..") for part in components):
        return f"{label} {shown(value)} has an empty, '.' or '..' component; give the path without //, /./ or /../"
    if len(value) > PATH_MAX or not UNIT_PATH.fullmatch(value):
        return f"{label} {shown(value)} is not a usable absolute path (at most {PATH_MAX} characters)"
    return None


def optional_unit_path_problem(value, label="botfleet_log_dir"):
    """Like unit_path_problem, but the empty string (no such path) is fine."""
    return unit_path_problem(value, label, optional=True)


def absolute_path_problem(value, label="path"):
    """An absolute path a module reads or writes (not one written into a unit): one line, no '..' component."""
    problem = _string_problem(value, label)
    if problem is not None:
        return problem
    if not value.startswith("/"):
        return f"{label} {shown(value)} is not an absolute path; give it starting with '/'"
    if ".." in value.split("/"):
        return f"{label} {shown(value)} has a '..' component; give the path without it"
    if len(value) > PATH_MAX:
        return f"{label} is longer than {PATH_MAX} characters"
    return None


def exec_problem(value, secret_keys=(), label="botfleet_exec"):
    """The arguments of ExecStart= after the release's python, as systemd reads them.

    systemd expands ``$NAME`` and ``${NAME}`` from the unit's environment into the command line,
    which any local user can read (``ps``, /proc/<pid>/cmdline); a reference to a secret key puts the
    secret there. The value itself is never quoted: it may hold anything.
    """
    problem = _string_problem(value, label)
    if problem is not None:
        return problem
    if not value.strip():
        return f"{label} is empty; set it to the arguments of the release's python, such as '-m botfleet_demo_bot'"
    secrets = {str(key) for key in secret_keys or ()}
    for match in EXEC_REFERENCE.finditer(value):
        name = match.group(1) or match.group(2)
        if name in secrets:
            return (
                f"{label} refers to the secret {name} ({match.group(0)}): systemd would expand it into the bot's "
                f"command line, which every local user can read; let the bot read {name} from its environment "
                "instead (write '$$' for a literal '$')"
            )
    if ";" in value.split():
        return f"{label} holds a lone ';', which starts a second command in a unit; write it as '\\;'"
    return None


def env_name_problem(key, label="botfleet_environment"):
    """A key of an environment file: a shell identifier, full match (``"TOKEN\\n"`` is refused)."""
    if isinstance(key, str) and ENV_NAME.fullmatch(key):
        return None
    return (
        f"{label}: {shown(key)} is not a valid environment variable name "
        "(letters, digits and '_', not starting with a digit)"
    )


def env_value_problem(key, value, label="botfleet_environment"):
    """A value of an environment file, named by its ``key`` only: the value may be a secret and is never quoted."""
    if value is None:
        return f"{label}: {key} has no value"
    if isinstance(value, (dict, list, tuple)):
        return f"{label}: the value of {key} is a {type(value).__name__}; give it as one line of text"
    if control_problem(str(value), "") is not None:
        return (
            f"{label}: the value of {key} contains a newline or another control character; "
            "environment files hold one line each"
        )
    return None


def pythonpath_problem(value, label="botfleet_pythonpath"):
    """PYTHONPATH of a bot run from its source: one line, quoted in the unit as Environment="PYTHONPATH=..."."""
    problem = _string_problem(value, label)
    if problem is None and any(char in value for char in '"\\$'):
        problem = f"{label} {shown(value)} contains a quote, a backslash or a $; give plain paths separated by ':'"
    return problem


# The bot role's variables that reach its unit, environment file or paths, and their checks.
ROLE_VARIABLES = {
    "botfleet_bot": bot_name_problem,
    "botfleet_user": account_name_problem,
    "botfleet_group": account_name_problem,
    "botfleet_workdir": unit_path_problem,
    "botfleet_log_dir": optional_unit_path_problem,
    # Part of ExecStart=, EnvironmentFile= and Documentation= of the unit, and of the paths the role writes.
    "botfleet_root": unit_path_problem,
    "botfleet_state_dir": unit_path_problem,
    "botfleet_config_dir": unit_path_problem,
    "botfleet_pythonpath": pythonpath_problem,
}


def role_value_problems(values, secret_keys=()):
    """One sentence per problem of the bot role's ``values`` ({variable: value}); empty when all are fine.

    ``botfleet_exec`` is checked against ``secret_keys`` (the keys of botfleet_secrets).
    Raises ValueError for a variable that has no check.
    """
    problems = []
    for name, value in values.items():
        if name == "botfleet_exec":
            problem = exec_problem(value, secret_keys, name)
        elif name in ROLE_VARIABLES:
            problem = ROLE_VARIABLES[name](value, name)
        else:
            raise ValueError(f"no check for {name}; checked are {', '.join([*ROLE_VARIABLES, 'botfleet_exec'])}")
        if problem is not None:
            problems.append(problem)
    return problems


def env_file_value(value):
    """A value quoted for a systemd EnvironmentFile (double quotes, backslash escapes, ``$`` kept literal):
    the one quoting of the bot role's environment files and of the secrets file an adoption writes."""
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'
