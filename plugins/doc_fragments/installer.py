# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Options of the uv/pip installation engine (module_utils/specs.installer_spec).
    DOCUMENTATION = r"""
options:
  installer:
    description:
      - Which installer runs on the target.
      - V(auto) uses C(uv) when it is on the target's E(PATH) (or O(uv_path) is set), else the venv's own C(pip).
      - A venv created by C(uv) has no C(pip); installing into it with V(pip) fails with a clear message.
    type: str
    default: auto
    choices: [auto, uv, pip]
    version_added: 0.1.0
  uv_path:
    description:
      - Path of the C(uv) binary on the target, when it is not on E(PATH).
    type: path
    version_added: 0.1.0
  index_url:
    description:
      - Base URL of the package index (PEP 503 simple API). Defaults to the installer's own configuration.
      - Treated as a secret (it may embed credentials, C(https://user:token@host/simple)), so it is never logged.
    type: str
    version_added: 0.1.0
  extra_index_urls:
    description:
      - Further indexes to search. Ignored when O(offline=true). Never logged, like O(index_url).
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  find_links:
    description:
      - Directories (on the target) or URLs holding wheels, for example a wheelhouse pushed from the controller.
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  offline:
    description:
      - Never contact a package index; install only from O(find_links), which must be local directories.
      - A requirement that names a URL or a path (C(x @ file:///tmp/x.whl), C(x @ https://host/x.whl)) is refused
        before anything runs; put its wheel in the wheelhouse and require it by name.
      - The installer runs with no index at all, C(--no-index) (and C(--offline) for C(uv)), without the index
        variables of the environment (E(PIP_INDEX_URL), E(UV_INDEX_URL) and the like) and without configuration
        files.
    type: bool
    default: false
    version_added: 0.1.0
  hashes:
    description:
      - Expected artifact hashes per package, a mapping of package name to a list of C(sha256:<hex>) strings.
      - When set, the installer runs in hash-checking mode, which requires every installed distribution
        (dependencies included) to be pinned to an exact version with a hash.
    type: dict
    default: {}
    version_added: 0.1.0
"""
