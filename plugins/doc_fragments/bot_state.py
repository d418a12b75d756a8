# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The bot and its state directory, for the modules that read or write <state_dir>/<bot>/
    # (module_utils/specs.bot_state_spec).
    DOCUMENTATION = r"""
options:
  bot:
    description:
      - Name of the bot; lower-case letters, digits, C(-) and C(_), starting with a letter.
    type: str
    required: true
  state_dir:
    description:
      - Directory holding one state directory per bot (C(state.json), the run lease).
    type: path
    default: /var/lib/botfleet
"""
