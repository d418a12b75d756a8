# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The secrets a host's variables hold, for the scrubber (module_utils/scrub.py) on the controller."""

from __future__ import annotations

# The variables of the bot and gate roles that hold secrets: every value of the first, the token of the others.
SECRET_VARIABLES = ("botfleet_secrets", "botfleet_probe", "botfleet_notify")


def host_secrets(variables):
    """The secret strings of ``variables`` ({name: templated value} of SECRET_VARIABLES): the values of
    botfleet_secrets and the ``token`` of botfleet_probe and botfleet_notify, empty ones left out."""
    found = []
    secrets = variables.get("botfleet_secrets")
    if isinstance(secrets, dict):
        found.extend(secrets.values())
    for name in ("botfleet_probe", "botfleet_notify"):
        options = variables.get(name)
        if isinstance(options, dict):
            found.append(options.get("token"))
    return [str(value) for value in found if value is not None and not isinstance(value, (dict, list)) and str(value)]
