# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of roles/watchdog: the configuration the VM's watchdog reads, from the inventory.

The configuration names each watched bot, its unit and its probe (webex_probe's options without the
token) and the notification room; the tokens go to files of their own (the role's credentials).
"""

from __future__ import annotations

from ansible_collections.botfleet.deploy.plugins.module_utils.specs import webex_notify_spec, webex_probe_spec

# What a run may take per bot beyond its probes' timeouts: the connection to Webex, systemctl.
RUN_SLACK = 30


def _seconds(value, default):
    try:
        return max(1, int(float(value)))
    except (TypeError, ValueError):
        return default


def watchdog_config(bots, probes, notify=None, settings=None):
    """{config, probe_token, run_timeout, problems} of a host that watches ``bots``.

    ``probes`` are the bots' ``botfleet_probe`` in the order of ``bots``. Every bot needs a probe, and all
    probes one token: the watchdog sends as one probe identity.
    """
    settings = dict(settings or {})
    problems = []
    bots = list(bots or [])
    probes = list(probes or [])
    if not bots:
        problems.append(
            "it watches no bot: no bot names it in botfleet_vm; set botfleet_watchdog_bots to the bots it watches"
        )
    spec = webex_probe_spec()
    # The watchdog's own probe timeout, shorter than a gate's when a bot that answers at all answers fast.
    probe_timeout = settings.pop("probe_timeout", 0) or 0
    entries, tokens, timeout = [], set(), 0
    for bot, probe in zip(bots, (probes + [None] * len(bots))[: len(bots)], strict=True):
        if not isinstance(probe, dict) or not probe.get("token"):
            problems.append(f"{bot} has no botfleet_probe with a token: the watchdog can only watch a bot it can probe")
            continue
        unknown = sorted(set(probe) - set(spec))
        if unknown:
            problems.append(f"{bot}: botfleet_probe has options webex_probe does not know: {', '.join(unknown)}")
            continue
        tokens.add(probe["token"])
        probe = dict(probe, timeout=probe_timeout) if probe_timeout else probe
        timeout += 2 * _seconds(probe.get("timeout"), spec["timeout"]["default"]) + RUN_SLACK
        entries.append(
            {
                "bot": bot,
                "unit": f"botfleet-{bot}.service",
                "probe": {k: v for k, v in probe.items() if k not in ("token", "redact")},
            }
        )
    if len(tokens) > 1:
        problems.append(
            "the bots' probes use different tokens; the watchdog probes as one identity: give every bot the same "
            "botfleet_probe.token"
        )
    notify = dict(notify or {})
    notify_config = None
    if notify.get("token"):
        unknown = sorted(set(notify) - set(webex_notify_spec()))
        if unknown:
            problems.append(f"botfleet_notify has options webex_notify does not know: {', '.join(unknown)}")
        notify_config = {k: v for k, v in notify.items() if k not in ("token", "redact", "markdown")}
    for key in ("failures", "max_restarts", "settle"):
        value = settings.get(key)
        if key in settings and (
            isinstance(value, bool) or not isinstance(value, int) or value < (1 if key == "failures" else 0)
        ):
            problems.append(
                f"botfleet_watchdog_{key} must be a whole number of at least {1 if key == 'failures' else 0}"
            )
    config = dict(settings, bots=entries, notify=notify_config)
    run_timeout = timeout + len(entries) * _seconds(settings.get("settle"), 15)
    return {
        "config": config,
        "probe_token": next(iter(tokens)) if len(tokens) == 1 else "",
        "run_timeout": max(run_timeout, 60),
        "problems": problems,
    }
