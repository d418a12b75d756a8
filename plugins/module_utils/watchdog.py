# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watchdog between deployments: probe each watched bot, restart a deaf one, write metrics.

It runs on a VM (roles/watchdog, a systemd timer), as the program botfleet-watchdog, which imports
this file from the collection's module_utils installed by bot_host (tasks/host_lib.yml): the probe
and the notification are webex_probe's and webex_notify's (module_utils/probe.py and notify.py
over webex_client.py), the lease is the run_lease module's (module_utils/lease.py) and state.json
is the release store's (module_utils/release.py). One implementation, not a copy.

Per bot and run:

- a bot whose run lease a deployment holds, or a canary under its idle soak (passed, on the release
  it runs, not yet judged by a soak verdict), is left alone: probing it would void the rollout's
  "first message after idle" test;
- otherwise it gets the probe. After ``failures`` consecutive failed probes its unit is restarted
  (at most ``max_restarts`` times in an hour; past that the watchdog only alerts), probed again, the
  event (``watchdog``: the failed probe, the restart, the outcome) is appended to the history of its
  state.json and posted to the team's room;
- what it saw is kept in ``<state_dir>/<bot>/watchdog.json`` (consecutive failures, restart times,
  last probe), for the next run and for status.yml.

Every run writes a Prometheus text file for node_exporter's textfile collector, atomically.

Tokens come from files that only the service can read (systemd credentials); they are never in
arguments, the configuration or the journal, and every text the watchdog writes is scrubbed of them.

Standard library only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from ansible_collections.botfleet.deploy.plugins.module_utils.health import restart_unit
from ansible_collections.botfleet.deploy.plugins.module_utils.lease import LeaseError, read_lease
from ansible_collections.botfleet.deploy.plugins.module_utils.lease import describe as describe_lease
from ansible_collections.botfleet.deploy.plugins.module_utils.notify import post_notification
from ansible_collections.botfleet.deploy.plugins.module_utils.probe import Probe
from ansible_collections.botfleet.deploy.plugins.module_utils.release import (
    ReleaseError,
    ReleaseStore,
    write_json_atomic,
    write_text_atomic,
)
from ansible_collections.botfleet.deploy.plugins.module_utils.scrub import BEARER, Scrubber
from ansible_collections.botfleet.deploy.plugins.module_utils.specs import webex_notify_spec, webex_probe_spec
from ansible_collections.botfleet.deploy.plugins.module_utils.validate import bot_name_problem
from ansible_collections.botfleet.deploy.plugins.module_utils.venv import format_timestamp, parse_timestamp
from ansible_collections.botfleet.deploy.plugins.module_utils.webex_client import WebexError, client_from_params

WATCHDOG_FILE = "watchdog.json"
METRICS_FILE = "botfleet_watchdog.prom"
RESTART_WINDOW = 3600
# The state the watchdog keeps per bot (watchdog.json).
EMPTY_WATCH = {
    "failures": 0,
    "restarts": [],
    "restarts_total": 0,
    "alerted": None,
    "last_probe": None,
    "last_run": None,
}
CONFIG_DEFAULTS = {
    "failures": 2,
    "max_restarts": 2,
    "settle": 15,
    "root": "/opt/botfleet",
    "state_dir": "/var/lib/botfleet",
    "textfile_dir": "/var/lib/prometheus/node-exporter",
    "lock_timeout": 60,
    "notify": None,
    "packages": ["webex_bot", "websockets"],
}
# Per bot: name, unit and the probe's options (webex_probe's, without the token).
BOT_KEYS = ("bot", "unit", "probe")
# Names of the systemd credentials that hold the tokens (LoadCredential= of the service).
CONFIG_CREDENTIAL = "config"
PROBE_TOKEN = "probe-token"  # noqa: S105 - a file name, not a token
NOTIFY_TOKEN = "notify-token"  # noqa: S105 - a file name, not a token


class WatchdogError(Exception):
    """The watchdog cannot run as configured; the message says what to change."""


def with_defaults(spec, given):
    """A module's options from ``given``, with the defaults of its argument spec filled in."""
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise WatchdogError(f"unknown options {', '.join(unknown)}; known are {', '.join(sorted(spec))}")
    return {name: given.get(name, option.get("default")) for name, option in spec.items()}


def load_config(path):
    """The watchdog's configuration (JSON, written by roles/watchdog), checked."""
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except FileNotFoundError:
        raise WatchdogError(f"{path} does not exist; run playbooks/watchdog.yml to install the watchdog") from None
    except (OSError, ValueError) as exc:
        raise WatchdogError(f"{path} cannot be read as JSON ({exc}); run playbooks/watchdog.yml again") from None
    return check_config(config, path)


def check_config(config, source="the configuration"):
    if not isinstance(config, dict):
        raise WatchdogError(f"{source} holds a JSON {type(config).__name__}, not an object")
    config = dict(CONFIG_DEFAULTS, **config)
    for key in ("failures", "max_restarts", "settle", "lock_timeout"):
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < (1 if key == "failures" else 0):
            raise WatchdogError(f"{source}: {key} must be a whole number of at least {1 if key == 'failures' else 0}")
    bots = config.get("bots")
    if not isinstance(bots, list):
        raise WatchdogError(f"{source}: bots must be a list of {{bot, unit, probe}}")
    for entry in bots:
        if not isinstance(entry, dict) or sorted(entry) != sorted(BOT_KEYS):
            raise WatchdogError(f"{source}: each bot needs exactly {', '.join(BOT_KEYS)}, not {entry!r}")
        problem = bot_name_problem(entry["bot"], "bot name")
        if problem:
            raise WatchdogError(f"{source}: {problem}")
        if "token" in entry["probe"]:
            raise WatchdogError(f"{source}: the probe of {entry['bot']} holds a token; tokens go in credentials")
    if config["notify"] is not None and "token" in config["notify"]:
        raise WatchdogError(f"{source}: notify holds a token; tokens go in credentials")
    return config


def read_token(credentials_dir, name):
    """A token from the service's credentials directory; None when it has none of that name."""
    if not credentials_dir:
        return None
    try:
        with open(os.path.join(credentials_dir, name), encoding="utf-8") as handle:
            return handle.read().strip() or None
    except FileNotFoundError:
        return None


def seconds_since(stamp, now):
    try:
        return now - parse_timestamp(stamp)
    except (TypeError, ValueError):
        return None


def hold_reason(bot, state, lease, now):
    """Why the watchdog must leave the bot alone now, in words; None when it may probe it."""
    if lease is not None and (seconds_since(lease["expires"], now) or 0) < 0:
        return f"a deployment holds its lease: {describe_lease(bot, lease)}"
    canary = state.get("canary") or {}
    if canary.get("verdict") == "passed" and canary.get("release") and canary.get("release") == state.get("current"):
        judged = [
            v
            for v in state.get("verdicts") or []
            if isinstance(v, dict)
            and v.get("event") == "soak"
            and str(v.get("at") or "") >= str(canary.get("at") or "")
        ]
        if not judged:
            return (
                f"it is a canary under its idle soak since {canary.get('at')} (release {canary['release']}); "
                "a probe would void the rollout's first-message-after-idle test"
            )
    return None


def recent_restarts(restarts, now, window=RESTART_WINDOW):
    """The restart times (epoch seconds) that fall within ``window`` before ``now``."""
    return [t for t in restarts if isinstance(t, (int, float)) and 0 <= now - t < window]


def decide(watch, probe_ok, failures, max_restarts, now):
    """What to do after a probe: 'none', 'restart' or 'alert', given the bot's watchdog state.

    Past its restarts, a bot that stays deaf is alerted once an hour, not at every run: the room and the
    history of state.json (kept to its last entries) would fill with the same alert.
    """
    if probe_ok:
        return "none"
    if watch["failures"] < failures:
        return "none"
    if len(recent_restarts(watch["restarts"], now)) < max_restarts:
        return "restart"
    if recent_restarts([watch.get("alerted")], now):
        return "none"
    return "alert"


class Systemd:
    """The systemctl calls of the watchdog; ``run`` is subprocess.run-like (tests give a fake)."""

    def __init__(self, run=None):
        self._run = run or _run

    def show(self, unit, props):
        result = self._run(["systemctl", "show", "--property=" + ",".join(props), "--", unit])
        values = {}
        for line in (result[1] or "").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                values[key] = value
        return values

    def restart(self, unit):
        """None, or systemctl's complaint."""
        return restart_unit(self._run, unit)


def _run(argv):
    completed = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    return completed.returncode, completed.stdout, completed.stderr


class Watchdog:
    """One run of the watchdog over the configured bots."""

    def __init__(
        self,
        config,
        probe_token,
        notify_token=None,
        systemd=None,
        clock=time.time,
        sleep=time.sleep,
        probe_factory=Probe,
        notify=None,
    ):
        self.config = config
        self.probe_token = probe_token
        self.notify_token = notify_token
        self.systemd = systemd or Systemd()
        self.clock = clock
        self.sleep = sleep
        self.probe_factory = probe_factory
        self._notify = notify or self._post
        self.scrub = Scrubber([probe_token, notify_token], [BEARER])
        self.lines = []

    # -- one bot --------------------------------------------------------------------------------------------------

    def watch_file(self, bot):
        return os.path.join(self.config["state_dir"], bot, WATCHDOG_FILE)

    def read_watch(self, bot):
        try:
            with open(self.watch_file(bot), encoding="utf-8") as handle:
                watch = json.load(handle)
        except (OSError, ValueError):
            watch = {}
        if not isinstance(watch, dict):
            watch = {}
        return {key: watch.get(key, value) for key, value in EMPTY_WATCH.items()}

    def probe(self, entry):
        """{ok, at, latency, error} of one probe of the bot."""
        params = with_defaults(webex_probe_spec(), dict(entry["probe"], token=self.probe_token))
        at = self.clock()
        try:
            report = self.probe_factory(params).run()
        except WebexError as exc:
            return {"ok": False, "at": at, "latency": None, "error": self.scrub.text(str(exc))}
        return {"ok": True, "at": at, "latency": report.get("latency"), "error": None}

    def run_bot(self, entry):
        """Watch one bot; return its sample for the metrics."""
        bot, unit = entry["bot"], entry["unit"]
        store = ReleaseStore(self.config["root"], self.config["state_dir"], bot, self.config["lock_timeout"])
        now = self.clock()
        state = store.read_state()
        lease = read_lease(self.config["state_dir"], bot)
        watch = self.read_watch(bot)
        sample = {
            "bot": bot,
            "release": store.current(),
            "versions": self.versions(store),
            "probe": None,
            "watch": watch,
            "unit": self.systemd.show(unit, ["ActiveState", "NRestarts"]),
        }
        held = hold_reason(bot, state, lease, now)
        if held:
            watch["last_run"] = {"at": format_timestamp(now), "left_alone": held}
            self.say(f"{bot}: left alone, {held}")
            self.save_watch(store, watch)
            return sample
        result = self.probe(entry)
        sample["probe"] = result
        watch["last_probe"] = dict(result, at=format_timestamp(result["at"]))
        watch["failures"] = 0 if result["ok"] else watch["failures"] + 1
        if result["ok"]:
            watch["alerted"] = None
        action = decide(watch, result["ok"], self.config["failures"], self.config["max_restarts"], now)
        watch["last_run"] = {"at": format_timestamp(now), "action": action}
        if result["ok"]:
            self.say(f"{bot}: answered in {result['latency']:g}s")
        else:
            self.say(f"{bot}: probe failed ({watch['failures']} in a row): {result['error']}")
        if action == "restart":
            self.restart(store, entry, watch, result, sample)
        elif action == "alert":
            watch["alerted"] = now
            self.alert(store, entry, watch, result)
        self.save_watch(store, watch)
        sample["unit"] = self.systemd.show(unit, ["ActiveState", "NRestarts"])
        return sample

    def restart(self, store, entry, watch, failed, sample):
        bot, unit = entry["bot"], entry["unit"]
        with store.lock():
            # A deployment may have taken the lease while the probe waited: it owns the bot now.
            lease = read_lease(self.config["state_dir"], bot)
            held = hold_reason(bot, {}, lease, self.clock())
            if held:
                self.say(f"{bot}: not restarted, {held}")
                watch["last_run"]["action"] = "none"
                return
            complaint = self.systemd.restart(unit)
            watch["restarts"] = [*recent_restarts(watch["restarts"], self.clock()), self.clock()]
            watch["restarts_total"] += 1
        if complaint:
            outcome = {"ok": False, "error": f"systemctl restart {unit} failed: {self.scrub.text(complaint)}"}
        else:
            self.sleep(self.config["settle"])
            outcome = self.probe(entry)
            sample["probe"] = outcome
            watch["last_probe"] = dict(outcome, at=format_timestamp(outcome["at"]))
        if outcome["ok"]:
            watch["failures"] = 0
            watch["alerted"] = None
            said = f"it answers again ({outcome['latency']:g}s)"
        else:
            said = f"it still does not answer: {outcome['error']}"
        used = len(recent_restarts(watch["restarts"], self.clock()))
        text = (
            f"watchdog restarted {bot} ({unit}) after {self.config['failures']} failed probes in a row "
            f"(restart {used} of {self.config['max_restarts']} this hour); {said}"
        )
        self.record(
            store,
            {
                "event": "watchdog",
                "action": "restarted",
                "failed_probe": failed["error"],
                "outcome": "answers" if outcome["ok"] else "deaf",
                "reason": text,
            },
        )
        self.notify(f"**botfleet watchdog** on {bot}: {text}")

    def alert(self, store, entry, watch, failed):
        bot = entry["bot"]
        text = (
            f"{bot} did not answer {watch['failures']} probes in a row and was already restarted "
            f"{self.config['max_restarts']} times this hour (botfleet_watchdog_max_restarts): not restarted again, "
            f"a person must look: {failed['error']}"
        )
        self.record(
            store,
            {
                "event": "watchdog",
                "action": "alerted",
                "failed_probe": failed["error"],
                "outcome": "deaf",
                "reason": text,
            },
        )
        self.notify(f"**botfleet watchdog** on {bot}: {text}")

    def record(self, store, event):
        self.say(f"{store.bot}: {event['reason']}")
        with store.lock():
            state = store.read_state()
            store.write_state(state, dict(event, release=state.get("current")))

    def save_watch(self, store, watch):
        write_json_atomic(self.watch_file(store.bot), self.scrub(watch), 0o644)

    def versions(self, store):
        current = store.current()
        if not current:
            return {}
        try:
            resolved = store.read_release(current).get("resolved") or {}
        except (OSError, ValueError):
            return {}
        wanted = {name.lower().replace("_", "-"): name for name in self.config["packages"]}
        return {
            wanted[name.lower().replace("_", "-")]: version
            for name, version in resolved.items()
            if name.lower().replace("_", "-") in wanted
        }

    # -- the run --------------------------------------------------------------------------------------------------

    def say(self, line):
        self.lines.append(self.scrub.text(line))

    def notify(self, markdown):
        if not self.config.get("notify") or not self.notify_token:
            return
        try:
            self._notify(markdown)
        except WebexError as exc:
            self.say(f"the notification was not posted: {exc}")

    def _post(self, markdown):
        params = with_defaults(
            webex_notify_spec(), dict(self.config["notify"], token=self.notify_token, markdown=markdown)
        )
        post_notification(client_from_params(params, "the notify token"), params)

    def run(self):
        """Watch every bot, write the metrics; return (samples, failed bots)."""
        samples, broken = [], []
        for entry in self.config["bots"]:
            try:
                samples.append(self.run_bot(entry))
            except (ReleaseError, LeaseError, WatchdogError, OSError) as exc:
                broken.append(entry["bot"])
                self.say(f"{entry['bot']}: the watchdog cannot watch it: {exc}")
        if self.config.get("textfile_dir"):
            write_metrics(self.config["textfile_dir"], render_metrics(samples))
        return samples, broken


# -- metrics ------------------------------------------------------------------------------------------------------

METRICS = (
    ("botfleet_bot_up", "gauge", "Whether the bot's systemd unit is active (1) or not (0)."),
    ("botfleet_probe_success", "gauge", "Whether the watchdog's last probe got the bot's reply (1) or not (0)."),
    ("botfleet_probe_latency_seconds", "gauge", "Seconds the bot took to answer the watchdog's last probe."),
    ("botfleet_probe_timestamp_seconds", "gauge", "When the watchdog last probed the bot, in seconds since the epoch."),
    ("botfleet_unit_restarts_total", "counter", "Restarts of the bot's unit by systemd since the unit was loaded."),
    ("botfleet_watchdog_restarts_total", "counter", "Restarts of the bot by the watchdog."),
    ("botfleet_release_info", "gauge", "The bot's current release and the versions of its key packages."),
)


def _epoch(stamp):
    try:
        return parse_timestamp(stamp)
    except (TypeError, ValueError):
        return None


def label_value(value):
    """A Prometheus label value, escaped (backslash, double quote, newline)."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(pairs):
    return "{" + ",".join(f'{name}="{label_value(value)}"' for name, value in pairs) + "}"


def render_metrics(samples):
    """The Prometheus text format of the samples: HELP and TYPE once per metric, one line per bot."""
    lines = {name: [] for name, _kind, _help in METRICS}
    for sample in samples:
        bot = [("bot", sample["bot"])]
        unit = sample.get("unit") or {}
        lines["botfleet_bot_up"].append((bot, 1 if unit.get("ActiveState") == "active" else 0))
        probe = sample.get("probe")
        watch = sample.get("watch") or {}
        last = probe or watch.get("last_probe")
        if last is not None:
            at = last["at"] if isinstance(last["at"], (int, float)) else _epoch(last["at"])
            lines["botfleet_probe_success"].append((bot, 1 if last.get("ok") else 0))
            if last.get("latency") is not None:
                lines["botfleet_probe_latency_seconds"].append((bot, last["latency"]))
            if at is not None:
                lines["botfleet_probe_timestamp_seconds"].append((bot, round(at, 3)))
        try:
            restarts = int(unit.get("NRestarts") or 0)
        except ValueError:
            restarts = 0
        lines["botfleet_unit_restarts_total"].append((bot, restarts))
        lines["botfleet_watchdog_restarts_total"].append((bot, int(watch.get("restarts_total") or 0)))
        versions = sample.get("versions") or {}
        info = [*bot, ("release", sample.get("release") or "")]
        info += [(name, versions.get(name, "")) for name in ("webex_bot", "websockets")]
        lines["botfleet_release_info"].append((info, 1))
    text = []
    for name, kind, help_text in METRICS:
        text += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        # repr keeps every digit of a float (a timestamp), where :g would round it.
        text += [f"{name}{_labels(labels)} {value!r}" for labels, value in lines[name]]
    return "\n".join(text) + "\n"


def write_metrics(directory, text):
    """Write the text file atomically (node_exporter must never read half of it)."""
    os.makedirs(directory, 0o755, exist_ok=True)
    write_text_atomic(os.path.join(directory, METRICS_FILE), text, 0o644)


def _say(line):
    sys.stdout.write(line + "\n")


def main(config_path, credentials_dir, out=_say):
    """The program botfleet-watchdog: one run; returns its exit code (1 when a bot could not be watched).

    The service reads its configuration and tokens from its credentials directory: the files they come
    from are in a directory the service itself cannot enter (it runs without CAP_DAC_OVERRIDE).
    """
    try:
        if not config_path:
            if not credentials_dir:
                raise WatchdogError(
                    "no configuration: give --config, or run it as botfleet-watchdog.service, whose credential "
                    f"{CONFIG_CREDENTIAL} is the configuration"
                )
            config_path = os.path.join(credentials_dir, CONFIG_CREDENTIAL)
        config = load_config(config_path)
        probe_token = read_token(credentials_dir, PROBE_TOKEN)
        if not probe_token:
            raise WatchdogError(
                f"no probe token: the service reads it from its credential {PROBE_TOKEN} "
                "(LoadCredential= of botfleet-watchdog.service); run playbooks/watchdog.yml again"
            )
        watchdog = Watchdog(config, probe_token, read_token(credentials_dir, NOTIFY_TOKEN))
        try:
            _samples, broken = watchdog.run()
        finally:
            for line in watchdog.lines:
                out(line)
    except (WatchdogError, ReleaseError, LeaseError, OSError) as exc:
        out(f"botfleet-watchdog: {exc}")
        return 1
    return 1 if broken else 0
