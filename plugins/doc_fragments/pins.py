# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # What goes into a venv besides the pins (module_utils/specs.pins_extras_spec).
    DOCUMENTATION = r"""
options:
  requirements:
    description:
      - Further PEP 508 requirement lines installed together with the pins, for example the bot application itself.
      - A line counts as satisfied when its package is installed at a version its specifier accepts.
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  allow_conflicts:
    description:
      - Names of packages whose declared-requirement conflicts are accepted on purpose; any other conflict fails the
        task (for M(botfleet.deploy.release), before the release is renamed into place).
      - Pins of these packages are installed after the others, in a resolver run of their own, so that for example
        C(websockets==14.2) can be forced under C(webex-bot 1.0.8), which declares C(websockets==11.0.3).
      - A conflict counts as accepted when the required package (here C(websockets)) is in this list.
    type: list
    elements: str
    default: []
    version_added: 0.1.0
"""
