# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Target-side installation engine shared by venv_pins and release: uv or pip.

It turns already-validated pins into installer runs. It knows nothing about
versions beyond the pin text; planning and verification happen on the
controller.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

from ansible_collections.botfleet.deploy.plugins.module_utils.venv import venv_python, venv_state

INSTALLER_CHOICES = ("auto", "uv", "pip")

_BASE_ENV = {
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "PIP_NO_INPUT": "1",
    "UV_NO_PROGRESS": "1",
    "UV_PYTHON_DOWNLOADS": "never",
}

# Where an installer may find an index besides its arguments; an offline run gets none of them.
INDEX_ENV = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "UV_INDEX",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
)
# Configuration files can name an index too; an offline run reads none.
_OFFLINE_ENV = {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "UV_NO_CONFIG": "1", "UV_OFFLINE": "1"}

_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


class InstallError(Exception):
    """An installer run failed; ``detail`` holds its output for the user."""

    def __init__(self, message, detail=""):
        super().__init__(message)
        self.detail = detail


def normalize_name(name):
    """PEP 503 normalized name (the rule itself, not a version parser)."""
    return re.sub(r"[-_.]+", "-", str(name)).lower()


def redact(text):
    """Hide credentials embedded in index URLs (https://user:token@host/...)."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", text or "")


_KEY_LINE = re.compile(
    r"error|cause|because|conflict|depends on|requested|no matching|not find|unsatisfiable", re.IGNORECASE
)


def summarize(detail, limit=800):
    """The lines of an installer's output that say why it failed, joined on one line."""
    lines = [line.strip() for line in (detail or "").splitlines() if line.strip()]
    key = [line for line in lines if _KEY_LINE.search(line) and "for help visit" not in line]
    text = " ".join(key or lines[-3:]) or "no output"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def requirement_line(name, spec, hashes=None):
    spec = str(spec).strip()
    if spec[:1].isdigit():
        spec = "==" + spec
    line = normalize_name(name) + spec
    for digest in hashes or []:
        line += " --hash=" + digest
    return line


def install_sets(pins, requirements, allow_conflicts, hashes=None):
    """(resolved lines, forced lines).

    Pins of packages in ``allow_conflicts`` are installed in a second resolver
    run of their own, so a declared-requirement conflict they create on purpose
    (webex_bot 1.0.8 with websockets 14.2) does not stop the first resolution.
    """
    allowed = {normalize_name(name) for name in allow_conflicts or []}
    hashes = {normalize_name(k): v for k, v in (hashes or {}).items()}
    resolved, forced = [], []
    for name, spec in sorted((pins or {}).items()):
        line = requirement_line(name, spec, hashes.get(normalize_name(name)))
        (forced if normalize_name(name) in allowed else resolved).append(line)
    resolved.extend(str(line).strip() for line in requirements or [] if str(line).strip())
    return resolved, forced


class Installer:
    """Creates venvs and installs requirements into them with uv or pip."""

    def __init__(
        self,
        module,
        choice="auto",
        uv_path=None,
        index_url=None,
        extra_index_urls=None,
        find_links=None,
        offline=False,
        require_hashes=False,
    ):
        self.module = module
        self.uv = self._find_uv(choice, uv_path)
        self.name = "uv" if self.uv else "pip"
        self.index_url = index_url
        self.extra_index_urls = list(extra_index_urls or [])
        self.find_links = list(find_links or [])
        self.offline = offline
        self.require_hashes = require_hashes
        self.commands = []
        # Who runs the installer: the module's user, or a build user (module_utils/build.py).
        self.run_command = module.run_command

    @classmethod
    def from_params(cls, module, params):
        """The engine configured by the installer options (doc fragment botfleet.deploy.installer)."""
        return cls(
            module,
            choice=params["installer"],
            uv_path=params["uv_path"],
            index_url=params["index_url"],
            extra_index_urls=params["extra_index_urls"],
            find_links=params["find_links"],
            offline=params["offline"],
            require_hashes=bool(params["hashes"]),
        )

    def _find_uv(self, choice, uv_path):
        if choice == "pip":
            return None
        if uv_path:
            if not os.access(uv_path, os.X_OK):
                self.module.fail_json(msg=f"uv_path {uv_path} is not an executable file")
            return uv_path
        found = self.module.get_bin_path("uv", required=False)
        if choice == "uv" and not found:
            self.module.fail_json(
                msg=f"installer=uv but uv is not on PATH of {self.module._name}; install it or use installer=auto"
            )
        return found

    def environment(self):
        """(variables to set, variables to remove) for an installer run."""
        env = dict(_BASE_ENV)
        if self.offline:
            env.update(_OFFLINE_ENV)
            return env, INDEX_ENV
        env.update(self._source_env())
        return env, ()

    def _run(self, argv, what):
        env, removed = self.environment()
        # run_command only adds to this process's environment: what an offline run must not see goes first.
        for name in removed:
            os.environ.pop(name, None)
        self.commands.append(redact(" ".join(argv)))
        rc, out, err = self.run_command(argv, environ_update=env)
        if rc != 0:
            detail = redact((err or "").strip() or (out or "").strip())
            raise InstallError(f"{what} failed (rc={rc})", detail[-4000:])
        return out

    def create_venv(self, python, path):
        interpreter = python if os.path.isabs(python) else self.module.get_bin_path(python, required=False)
        if not interpreter:
            raise InstallError(f"python {python!r} was not found on the target; set python to an interpreter path")
        if self.uv:
            offline = ["--offline"] if self.offline else []
            self._run([self.uv, "venv", "--quiet", *offline, "--python", interpreter, path], "creating the virtualenv")
        else:
            self._run([interpreter, "-m", "venv", path], "creating the virtualenv")

    def _source_env(self):
        """Index URLs go through the environment: they may hold credentials, and arguments are visible in ps."""
        env = {}
        if self.offline:
            return env
        prefix = "UV_" if self.uv else "PIP_"
        if self.index_url:
            env[prefix + "INDEX_URL"] = self.index_url
        if self.extra_index_urls:
            env[prefix + "EXTRA_INDEX_URL"] = " ".join(self.extra_index_urls)
        return env

    def _source_args(self):
        args = []
        if self.offline:
            # uv's --offline also keeps it from fetching a URL requirement; pip has no such switch, so the
            # controller refuses URL requirements when offline (plugin_utils/pins.offline_problems).
            args += ["--no-index", "--offline"] if self.uv else ["--no-index"]
        for link in self.find_links:
            args += ["--find-links", link]
        if self.require_hashes:
            args.append("--require-hashes")
        return args

    def install_lock(self, venv_path, lock_file, names, allow_sdists):
        """Install exactly the lock: every distribution it names, hash-checked, nothing resolved beyond it.

        ``names`` are the lock's distributions; only those in ``allow_sdists`` may come as source.
        """
        if self.uv:
            argv = [self.uv, "pip", "install", "--python", venv_python(venv_path)]
        else:
            argv = [venv_python(venv_path), "-m", "pip", "install", "--quiet"]
        argv += ["--no-deps", "--require-hashes", *only_binary_args(names, allow_sdists), "-r", lock_file]
        argv += [arg for arg in self._source_args() if arg != "--require-hashes"]
        return self._run(argv, "installing the lock")

    def install_project(self, venv_path, project_dir):
        """Build the Python project at ``project_dir`` and install it into the venv, without its dependencies.

        Its dependencies are in the lock, installed before. Its build backend (build-system.requires)
        comes from the same package sources as the lock: offline, the wheelhouse only. The project is
        no file of the lock, so it is not hash-checked: its tree is, by the source's sha256.
        """
        if self.uv:
            argv = [self.uv, "pip", "install", "--python", venv_python(venv_path)]
        else:
            argv = [venv_python(venv_path), "-m", "pip", "install", "--quiet"]
        argv += ["--no-deps", *[arg for arg in self._source_args() if arg != "--require-hashes"], project_dir]
        return self._run(argv, "building and installing the bot's project")

    def install(self, venv_path, lines, what, dry_run=False):
        """Install requirement ``lines`` into the venv in one resolver run."""
        if not lines:
            return ""
        workdir = tempfile.mkdtemp(prefix="botfleet-req-")
        try:
            req_file = os.path.join(workdir, "requirements.txt")
            with open(req_file, "w") as handle:
                handle.write("\n".join(lines) + "\n")
            if self.uv:
                argv = [self.uv, "pip", "install", "--python", venv_python(venv_path)]
            else:
                if not os.access(os.path.join(venv_path, "bin", "pip"), os.X_OK):
                    raise InstallError(
                        f"{venv_path} has no pip (it was created by uv?): use installer=uv, or recreate it"
                    )
                argv = [venv_python(venv_path), "-m", "pip", "install", "--quiet"]
            if dry_run:
                argv.append("--dry-run")
            argv += ["-r", req_file, *self._source_args()]
            return self._run(argv, what)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def only_binary_args(names, allow_sdists):
    """Installer arguments that refuse source distributions, except for the packages in ``allow_sdists``.

    pip and uv cannot say "binary only, except these": the exceptions are made by naming every
    other package of the lock.
    """
    allowed = {normalize_name(name) for name in allow_sdists or []}
    if not allowed:
        return ["--only-binary", ":all:"]
    args = []
    for name in sorted({normalize_name(name) for name in names} - allowed):
        args += ["--only-binary", name]
    return args


def apply_pins(module, params):
    """Make the venv at ``params['path']`` hold the pins: create it if missing, then install.

    Runs only when the controller found pins unsatisfied. A resolver failure
    changes nothing (installers resolve before they install); a venv created by
    this run is removed again when the run fails.
    """
    path = params["path"]
    state = venv_state(path)
    if state not in ("missing", "venv"):
        module.fail_json(msg=state)
    if state == "missing" and not params["create"]:
        module.fail_json(msg=f"{path} does not exist and create=false")
    if module.check_mode:
        return {"changed": True, "created": state == "missing"}

    installer = Installer.from_params(module, params)
    resolved, forced = install_sets(params["pins"], params["requirements"], params["allow_conflicts"], params["hashes"])
    created = False
    try:
        if state == "missing":
            installer.create_venv(params["python"], path)
            created = True
        if forced and resolved:
            # The forced run comes second; prove it can succeed before the first one changes anything.
            installer.install(path, forced, "resolving the pins in allow_conflicts", dry_run=True)
        installer.install(path, resolved, "installing the pins")
        installer.install(path, forced, "installing the pins in allow_conflicts")
    except InstallError as exc:
        if created:
            shutil.rmtree(path, ignore_errors=True)
        module.fail_json(
            msg=f"{exc} with {installer.name}: {summarize(exc.detail)}",
            installer=installer.name,
            commands=installer.commands,
            stderr=exc.detail,
            created=False,
            venv_removed=created,
        )
    return {"changed": True, "created": created, "installer": installer.name, "commands": installer.commands}
