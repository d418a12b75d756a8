# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn the raw facts of the bot_facts module into the report users read."""

from __future__ import annotations

from ansible_collections.botfleet.deploy.plugins.module_utils.venv import format_timestamp
from ansible_collections.botfleet.deploy.plugins.plugin_utils.pins import (
    canonical_name,
    canonical_names,
    evaluate_pins,
    find_conflicts,
    installed_versions,
)


def _package_entry(dist):
    return {
        "name": dist["name"],
        "version": dist["version"],
        "installed_at": format_timestamp(dist.get("installed_at")),
    }


def venv_report(raw, pins, packages=()):
    """The documented bot_facts result from the module's raw facts.

    ``pins`` is the parsed {name: Pin} map; ``packages`` limits RV(packages).
    """
    distributions = raw.get("distributions") or {}
    by_name = {canonical_name(dist["name"]): dist for dist in distributions.values()}
    versions = installed_versions(distributions)
    wanted = canonical_names(packages)
    selected = wanted or sorted(by_name)
    pin_report = evaluate_pins(pins, versions)
    units = raw.get("units") or {}
    return {
        "path": raw.get("path"),
        "exists": bool(raw.get("exists")),
        "real_path": raw.get("real_path"),
        "python": raw.get("python") or {},
        "packages": {name: _package_entry(by_name[name]) for name in selected if name in by_name},
        "missing": [name for name in wanted if name not in by_name],
        "pins": pin_report,
        "satisfied": all(entry["satisfied"] for entry in pin_report.values()),
        "conflicts": [c.as_dict() for c in find_conflicts(distributions, raw.get("marker_environment"))],
        "units": units,
        "restart_pending": any(unit.get("restart_pending") for unit in units.values()),
        "files": raw.get("files") or {},
    }


def versions_text(pins, versions):
    """Pinned packages as requirement lines, for diff mode."""
    lines = [f"{name}=={versions[name]}" for name in sorted(pins) if versions.get(name) is not None]
    lines += [f"# {name} not installed" for name in sorted(pins) if versions.get(name) is None]
    return "\n".join(lines) + "\n"
