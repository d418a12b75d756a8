# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side PEP 440 logic: pins, plans and declared-requirement conflicts.

Everything here uses the real ``packaging`` library (a dependency of
ansible-core) and works on the raw facts that the target-side probe returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.botfleet.deploy.plugins.module_utils.installer import redact

try:
    from packaging.markers import UndefinedEnvironmentName
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.utils import InvalidName, canonicalize_name
    from packaging.version import InvalidVersion, Version
except ImportError as exc:  # ansible-core depends on packaging; a broken install may still lack it
    PACKAGING_IMPORT_ERROR = exc
else:
    PACKAGING_IMPORT_ERROR = None


class PinError(ValueError):
    """A pin, requirement or package name is not valid; the message names it."""


@dataclass(frozen=True)
class Pin:
    name: str  # canonical (PEP 503) name, e.g. webex-bot
    given_name: str  # as the user wrote it, e.g. webex_bot
    specifier: SpecifierSet

    @property
    def requirement(self):
        """The requirement line an installer understands, e.g. ``webex-bot==1.3.1``."""
        return f"{self.name}{self.specifier}"

    @property
    def exact_version(self):
        """The version when the pin is a single ``==`` (or ``===``) without wildcard, else None."""
        specs = list(self.specifier)
        if len(specs) == 1 and specs[0].operator in ("==", "===") and not specs[0].version.endswith(".*"):
            return specs[0].version
        return None

    def satisfied_by(self, version):
        if version is None:
            return False
        try:
            parsed = Version(version)
        except InvalidVersion:
            # Legacy versions can only match an arbitrary-equality pin.
            return any(spec.operator == "===" and spec.version == version for spec in self.specifier)
        return self.specifier.contains(parsed, prereleases=True)


def canonical_name(name):
    try:
        return canonicalize_name(str(name), validate=True)
    except InvalidName as exc:
        raise PinError(f"{name!r} is not a valid Python package name") from exc


def parse_pin(name, value):
    """Parse one pin: a version (``1.3.1`` means ``==1.3.1``) or a PEP 440 specifier set."""
    canonical = canonical_name(name)
    text = str(value).strip() if value is not None else ""
    if not text:
        raise PinError(f"pin for {name} is empty; give a version such as 1.3.1 or a specifier such as >=1.3,<2")
    if text[0].isdigit():
        try:
            Version(text)
        except InvalidVersion as exc:
            raise PinError(f"pin {name}: {text!r} is not a valid PEP 440 version") from exc
        text = "==" + text
    try:
        specifier = SpecifierSet(text)
    except InvalidSpecifier as exc:
        raise PinError(
            f"pin {name}: {text!r} is not a valid PEP 440 version or specifier (examples: 14.2, ==14.2, >=14,<15)"
        ) from exc
    if not list(specifier):
        raise PinError(f"pin {name}: {text!r} is empty")
    return Pin(name=canonical, given_name=str(name), specifier=specifier)


def parse_pins(pins):
    """Parse a dict name -> version/specifier into {canonical name: Pin}.

    Two spellings of one package (``webex_bot`` and ``webex-bot``) are an error,
    not a silent override.
    """
    if pins is None:
        return {}
    if not isinstance(pins, dict):
        raise PinError(f"pins must be a mapping of package name to version or specifier, got {type(pins).__name__}")
    parsed = {}
    for name, value in pins.items():
        pin = parse_pin(name, value)
        if pin.name in parsed:
            raise PinError(f"pins name {pin.name} twice ({parsed[pin.name].given_name} and {name}); keep one")
        parsed[pin.name] = pin
    return parsed


def requirement_problem(text):
    """Why ``text`` is not a PEP 508 requirement, or None when it is one."""
    try:
        Requirement(text)
    except InvalidRequirement as exc:
        return str(exc)
    return None


def parse_requirements(lines):
    """Validate extra requirement lines (PEP 508); return them unchanged, stripped."""
    result = []
    for line in lines or []:
        text = str(line).strip()
        if not text:
            continue
        problem = requirement_problem(text)
        if problem:
            raise PinError(f"requirement {text!r} is not a valid PEP 508 requirement: {problem}")
        result.append(text)
    return result


def canonical_names(names):
    return sorted({canonical_name(name) for name in names or []})


def installed_versions(distributions):
    """{canonical name: version} from the probe's distribution map."""
    return {canonical_name(dist["name"]): dist["version"] for dist in distributions.values()}


def evaluate_pins(pins, versions):
    """Per pin: wanted, installed, satisfied. ``versions`` maps canonical names to versions."""
    return {
        name: {
            "name": pin.given_name,
            "wanted": str(pin.specifier),
            "installed": versions.get(name),
            "satisfied": pin.satisfied_by(versions.get(name)),
        }
        for name, pin in sorted(pins.items())
    }


def plan(pins, versions):
    """The changes needed to satisfy ``pins``: a list of {name, before, after, action}.

    ``after`` is the exact version when the pin names one, else the specifier the
    installer will resolve.
    """
    changes = []
    for name, pin in sorted(pins.items()):
        before = versions.get(name)
        if pin.satisfied_by(before):
            continue
        after = pin.exact_version or str(pin.specifier)
        if before is None:
            action = "install"
        elif pin.exact_version is not None and _is_lower(pin.exact_version, before):
            action = "downgrade"
        else:
            action = "upgrade"
        changes.append({"name": name, "before": before, "after": after, "action": action})
    return changes


def _is_lower(candidate, current):
    try:
        return Version(candidate) < Version(current)
    except InvalidVersion:
        return False


@dataclass(frozen=True)
class Conflict:
    package: str  # the distribution that declares the requirement
    version: str
    requirement: str  # as declared, e.g. websockets==11.0.3
    dependency: str  # canonical name of the required distribution
    installed: str | None  # its installed version, None when missing

    @property
    def message(self):
        if self.installed is None:
            return f"{self.package} {self.version} requires {self.requirement}, which is not installed"
        return f"{self.package} {self.version} requires {self.requirement}, installed {self.installed}"

    def as_dict(self):
        return {
            "package": self.package,
            "version": self.version,
            "requirement": self.requirement,
            "dependency": self.dependency,
            "installed": self.installed,
            "message": self.message,
        }


def find_conflicts(distributions, marker_environment):
    """Declared-requirement conflicts among installed distributions, like ``pip check``.

    A requirement counts when its marker holds in the venv's own environment
    (with no extra selected). Unparseable metadata is skipped, as pip does.
    """
    versions = installed_versions(distributions)
    conflicts = []
    for dist in sorted(distributions.values(), key=lambda d: canonical_name(d["name"])):
        for line in dist.get("requires") or []:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            if req.marker is not None and not _marker_holds(req, marker_environment):
                continue
            dependency = canonicalize_name(req.name)
            installed = versions.get(dependency)
            if installed is not None and _specifier_accepts(req.specifier, installed):
                continue
            conflicts.append(
                Conflict(
                    package=canonical_name(dist["name"]),
                    version=dist["version"],
                    requirement=_requirement_text(req),
                    dependency=dependency,
                    installed=installed,
                )
            )
    return conflicts


def _marker_holds(req, environment):
    env = dict(environment or {})
    env.setdefault("extra", "")
    try:
        return req.marker.evaluate(env)
    except UndefinedEnvironmentName:
        return True


def _specifier_accepts(specifier, version):
    if not str(specifier):
        return True
    try:
        return specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def _requirement_text(req):
    extras = "[" + ",".join(sorted(req.extras)) + "]" if req.extras else ""
    return f"{req.name}{extras}{req.specifier}"


def split_conflicts(conflicts, allowed):
    """Split conflicts into (refused, accepted) by the dependency's name in ``allowed``."""
    allowed = set(canonical_names(allowed))
    refused = [c for c in conflicts if c.dependency not in allowed]
    accepted = [c for c in conflicts if c.dependency in allowed]
    return refused, accepted


def refusal_message(refused, allow_option="allow_conflicts"):
    """One sentence per refused conflict, each saying how to accept it on purpose."""
    parts = [
        f"{c.message}; add {c.dependency} to {allow_option} to accept this" if c.installed is not None else c.message
        for c in refused
    ]
    return "declared-requirement conflict: " + "; ".join(parts)


def split_forced(pins, allowed):
    """Split pins into (resolved, forced): forced pins are installed after the rest,
    in a resolver run of their own, so a declared conflict they create is accepted."""
    allowed = set(canonical_names(allowed))
    resolved = {name: pin for name, pin in pins.items() if name not in allowed}
    forced = {name: pin for name, pin in pins.items() if name in allowed}
    return resolved, forced


_HASH_PREFIXES = ("sha256:", "sha384:", "sha512:")


def parse_hashes(hashes, pins):
    """Validate ``hashes`` (name -> list of ``sha256:<hex>``) against exact pins."""
    result = {}
    for name, digests in (hashes or {}).items():
        canonical = canonical_name(name)
        pin = pins.get(canonical)
        if pin is None or pin.exact_version is None:
            raise PinError(f"hashes for {name}: hash-checking needs an exact pin of {name} (such as {name}: 1.2.3)")
        if isinstance(digests, str):
            digests = [digests]
        for digest in digests:
            hexdigest = str(digest).partition(":")[2]
            if (
                not str(digest).startswith(_HASH_PREFIXES)
                or not hexdigest
                or any(ch not in "0123456789abcdef" for ch in hexdigest.lower())
            ):
                raise PinError(f"hashes for {name}: {digest!r} is not of the form sha256:<hex digest>")
        result[canonical] = [str(d) for d in digests]
    return result


def requirement_changes(lines, versions):
    """Plan entries for extra requirement lines that the venv does not satisfy yet."""
    changes = []
    for line in lines:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        before = versions.get(name)
        if before is not None and (req.url or _specifier_accepts(req.specifier, before)):
            continue
        after = req.url or str(req.specifier) or "any"
        changes.append(
            {"name": name, "before": before, "after": after, "action": "install" if before is None else "upgrade"}
        )
    return changes


def offline_problems(requirements, find_links):
    """Why an offline install would still reach the network, as sentences; empty when it would not.

    Offline means every package comes from a local wheelhouse: a requirement that names a URL or a
    path (``evil @ file:///tmp/evil.whl``) or a ``find_links`` URL is refused before anything runs.
    """
    problems = []
    for line in parse_requirements(requirements):
        req = Requirement(line)
        if req.url:
            problems.append(
                f"requirement {line!r} names a URL or a path; with offline=true every package comes from the "
                f"wheelhouse: put its wheel there and require {canonicalize_name(req.name)} by name and version"
            )
    for link in find_links or []:
        if "://" in str(link) and not str(link).startswith("file://"):
            problems.append(f"find_links {redact(str(link))!r} is a URL; with offline=true give local directories only")
    return problems


def normalized_requirements(lines):
    """Validated requirement lines in canonical text (so spelling does not change a release id)."""
    result = []
    for line in parse_requirements(lines):
        req = Requirement(line)
        text = canonicalize_name(req.name)
        if req.extras:
            text += "[" + ",".join(sorted(req.extras)) + "]"
        text += f" @ {req.url}" if req.url else str(req.specifier)
        if req.marker is not None:
            text += f" ; {req.marker}"
        result.append(text)
    return sorted(result)
