"""Helpers for the lab tests: the emulator and demo-bot processes, HTTP calls, demo-bot venvs.

Everything runs on 127.0.0.1. Demo-bot virtualenvs (one per webex_bot/websockets pair) are created
once and cached in ``.cache/demo-venvs/`` (override: ``BOTFLEET_DEMO_VENV_CACHE``); a venv is reused
while its pins and interpreter are unchanged, and only the demo bot is reinstalled when its source
changed. Creating one needs PyPI (or uv's cache).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EMULATOR_PATH = REPO / "lab"
DEMO_BOT_SRC = REPO / "lab" / "demo_bot"
VENV_CACHE = Path(os.environ.get("BOTFLEET_DEMO_VENV_CACHE", REPO / ".cache" / "demo-venvs"))
# An explicit interpreter: pyenv shims on PATH may resolve python3 to a broken build.
LAB_PYTHON = Path(os.environ.get("BOTFLEET_LAB_PYTHON", "/usr/bin/python3.11"))

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
BOT_READY_TIMEOUT = 30.0
REPLY_TIMEOUT = 20.0
READY_LINE = "connected: websocket open, listening for messages"
CONNECT_FAILED_LINE = "websocket connect failed"

IDENTITIES = [
    {
        "name": "barnacles",
        "token": "lab-token-barnacles-0123456789abcdef",
        "email": "barnacles@webex.bot",
        "type": "bot",
        "display_name": "Barnacles",
    },
    {
        # A second bot, for tests that run two bots (e.g. two version pairs) side by side.
        "name": "toodles",
        "token": "lab-token-toodles-0123456789abcdef",
        "email": "toodles@webex.bot",
        "type": "bot",
        "display_name": "Toodles",
    },
    {
        "name": "probe",
        "token": "lab-token-probe-0123456789abcdef",
        "email": "probe@botfleet.example",
        "type": "person",
        "display_name": "Fleet Probe",
    },
    {
        "name": "alice",
        "token": "lab-token-alice-0123456789abcdef",
        "email": "alice@botfleet.example",
        "type": "person",
        "display_name": "Alice",
    },
]
TOKENS = {i["name"]: i["token"] for i in IDENTITIES}
EMAILS = {i["name"]: i["email"] for i in IDENTITIES}


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.1, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def uuid_of(rest_id: str) -> str:
    """The UUID inside a Webex REST id (base64 of ``ciscospark://us/KIND/<uuid>``)."""
    raw = base64.urlsafe_b64decode(rest_id + "=" * (-len(rest_id) % 4)).decode()
    return raw.rsplit("/", 1)[1]


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str]


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy


def http(
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: Any = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"lab tests talk to the loopback emulator only, not {url}")
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310 (checked above)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with _OPENER.open(request, timeout=10) as reply:
            status, payload, reply_headers = reply.status, reply.read(), dict(reply.headers)
    except urllib.error.HTTPError as exc:
        status, payload, reply_headers = exc.code, exc.read(), dict(exc.headers)
    return Response(status, json.loads(payload) if payload else None, reply_headers)


def _stop(proc: subprocess.Popen[Any]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)
    return proc.returncode


# the emulator


@dataclass
class Emulator:
    """A running emulator subprocess and convenience calls against it."""

    proc: subprocess.Popen[str]
    base: str
    log_path: Path

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    def call(self, method: str, path: str, *, as_: str | None = None, **kwargs: Any) -> Response:
        return http(method, self.base + path, token=TOKENS[as_] if as_ else None, **kwargs)

    def admin(self, method: str, path: str, body: Any = None) -> Response:
        return http(method, f"{self.base}/_admin/{path}", body=body)

    def send(self, sender: str, text: str, to: str = "barnacles") -> dict[str, Any]:
        reply = self.call("POST", "/v1/messages", as_=sender, body={"toPersonEmail": EMAILS[to], "text": text})
        assert reply.status == 200, reply.body
        return reply.body

    def messages(self, reader: str, room_id: str, limit: int = 20) -> list[dict[str, Any]]:
        reply = self.call("GET", f"/v1/messages?roomId={room_id}&max={limit}", as_=reader)
        assert reply.status == 200, reply.body
        return reply.body["items"]

    def reply_to(self, sent: dict[str, Any], *, reader: str = "probe", bot: str = "barnacles") -> dict[str, Any] | None:
        """The bot's reply to ``sent``: webex_bot threads its replies under the message it answers."""
        for message in self.messages(reader, sent["roomId"]):
            if message["personEmail"] == EMAILS[bot] and message.get("parentId") == sent["id"]:
                return message
        return None

    def events(self, name: str) -> dict[str, Any]:
        return self.admin("GET", f"events?name={name}").body[name]

    def connections(self, name: str) -> list[dict[str, Any]]:
        return self.admin("GET", f"connections?name={name}").body[name]

    def stop(self) -> int:
        return _stop(self.proc)


def _first_line(stream: Any, timeout: float) -> str | None:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return None


def start_emulator_process(identities_file: Path, log_path: Path, *extra: str, heartbeat: float = 2.0) -> Emulator:
    """Start ``python -m webex_emulator`` on a free port and wait for its ready line."""
    env = {**os.environ, "PYTHONPATH": str(EMULATOR_PATH), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "webex_emulator", "--host", "127.0.0.1", "--port", "0"]
    command += ["--identities", str(identities_file), "--heartbeat", str(heartbeat), *extra]
    with log_path.open("w") as log:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    line = _first_line(proc.stdout, START_TIMEOUT)
    match = re.fullmatch(r"webex-emulator listening on (http://127\.0\.0\.1:\d+)\n", line or "")
    if match is None:
        _stop(proc)
        pytest.fail(f"emulator did not start: {line!r}\n{log_path.read_text()}")
    return Emulator(proc, match.group(1), log_path)


# demo bot virtualenvs


@dataclass(frozen=True)
class VersionPair:
    """webex_bot and websockets versions a demo venv is built with."""

    webex_bot: str
    websockets: str
    forced: bool = False  # websockets overrides webex_bot's declared requirement

    @property
    def key(self) -> str:
        return f"webex_bot-{self.webex_bot}_websockets-{self.websockets}" + ("-forced" if self.forced else "")

    @property
    def requirements(self) -> list[str]:
        pins = [f"webex_bot=={self.webex_bot}"]
        return pins if self.forced else [*pins, f"websockets=={self.websockets}"]

    @property
    def overrides(self) -> list[str]:
        return [f"websockets=={self.websockets}"] if self.forced else []


OLD = VersionPair("1.0.8", "11.0.3")
NEW = VersionPair("1.3.1", "16.1")
FORCED = VersionPair("1.0.8", "14.2", forced=True)


def uv() -> str:
    beside_python = Path(sys.executable).with_name("uv")
    found = str(beside_python) if beside_python.exists() else shutil.which("uv")
    if not found:
        pytest.fail("uv is needed to build the demo bot venvs; install requirements-dev.txt")
    return found


def _skipped(relative: Path) -> bool:
    return any(part in {"build", "dist", "__pycache__"} or part.endswith(".egg-info") for part in relative.parts)


def demo_source_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(DEMO_BOT_SRC.rglob("*")):
        relative = path.relative_to(DEMO_BOT_SRC)
        if path.is_file() and not _skipped(relative):
            digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_demo_wheel(workdir: Path) -> Path:
    """Build the demo bot wheel from a copy of its source, so the tree stays clean."""
    source = workdir / "src"
    shutil.copytree(DEMO_BOT_SRC, source, ignore=lambda d, names: [n for n in names if _skipped(Path(n))])
    run([uv(), "build", "--wheel", "--quiet", str(source), "--out-dir", str(workdir / "dist")])
    wheels = list((workdir / "dist").glob("botfleet_demo_bot-0.1.2-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def run(command: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stderr}"
    return result


@dataclass
class DemoVenv:
    path: Path
    pair: VersionPair
    created_seconds: float | None  # None when reused from the cache

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def versions(self) -> dict[str, str]:
        script = (
            "import json, importlib.metadata as m;"
            "print(json.dumps({n: m.version(n) for n in ('webex_bot', 'websockets', 'botfleet-demo-bot')}))"
        )
        return json.loads(run([str(self.python), "-c", script], timeout=60).stdout)


def ensure_demo_venv(pair: VersionPair, wheel: Path, digest: str) -> DemoVenv:
    """The cached venv of ``pair``: created when missing or stale, under a lock (parallel sessions)."""
    VENV_CACHE.mkdir(parents=True, exist_ok=True)
    path = VENV_CACHE / pair.key
    python = path / "bin" / "python"
    marker = path / "botfleet-demo-venv.json"
    wanted = {"requirements": pair.requirements, "overrides": pair.overrides, "python": str(LAB_PYTHON)}
    with (VENV_CACHE / f"{pair.key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        recorded = json.loads(marker.read_text()) if marker.exists() else {}
        created = None
        if {key: recorded.get(key) for key in wanted} != wanted or not python.exists():
            began = time.monotonic()
            shutil.rmtree(path, ignore_errors=True)
            run([uv(), "venv", "--quiet", "--python", str(LAB_PYTHON), str(path)])
            command = [uv(), "pip", "install", "--quiet", "--python", str(python), str(wheel), *pair.requirements]
            if pair.overrides:
                overrides = path / "overrides.txt"
                overrides.write_text("\n".join(pair.overrides) + "\n")
                command += ["--override", str(overrides)]
            run(command)
            created = time.monotonic() - began
        elif recorded.get("demo_bot") != digest:
            run([uv(), "pip", "install", "--quiet", "--python", str(python), "--reinstall", "--no-deps", str(wheel)])
        marker.write_text(json.dumps({**wanted, "demo_bot": digest}))
    return DemoVenv(path, pair, created)


# demo bot processes


@dataclass
class BotProcess:
    proc: subprocess.Popen[bytes]
    log_path: Path
    token: str

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def count(self, text: str) -> int:
        return self.log().count(text)

    def wait_for_line(self, text: str, timeout: float, times: int = 1) -> None:
        def seen() -> bool:
            if not self.alive():
                pytest.fail(f"bot exited with {self.proc.returncode} while waiting for {text!r}:\n{self.log()}")
            return self.count(text) >= times

        wait_for(seen, timeout, interval=0.2, what=f"{times}x {text!r} in the bot's log")

    def stop(self) -> int:
        return _stop(self.proc)


def start_bot_process(
    venv: DemoVenv, emulator: Emulator, log_path: Path, name: str = "barnacles", extra_env: dict[str, str] | None = None
) -> BotProcess:
    """Run ``python -m botfleet_demo_bot`` from ``venv`` against ``emulator`` as identity ``name``."""
    inherited = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env = {
        **inherited,
        "WEBEX_BOT_TOKEN": TOKENS[name],
        "BOTFLEET_BOT_NAME": name,
        "BOTFLEET_WEBEX_BASE": emulator.base,
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(venv.python), "-m", "botfleet_demo_bot"], stdout=log, stderr=log, env=env)
    return BotProcess(proc, log_path, TOKENS[name])


def wait_authorized(emulator: Emulator, connects: int = 1, name: str = "barnacles") -> None:
    """The bot logs its ready line when the socket opens, a moment before it sends the
    authorization frame; until the emulator has that frame it delivers nothing."""
    wait_for(
        lambda: (
            emulator.events(name)["authorizations"] >= connects
            and any(c["authorized"] for c in emulator.connections(name))
        ),
        BOT_READY_TIMEOUT,
        what=f"{name}'s websocket to authorize",
    )


def echo_round_trip(emulator: Emulator, bot: BotProcess, name: str = "barnacles") -> dict[str, Any]:
    """Send ``echo <token>`` from the probe to bot ``name`` and return its reply, checked."""
    token = f"hi-{uuid.uuid4().hex[:8]}"
    sent = emulator.send("probe", f"echo {token}", to=name)
    reply = wait_for(lambda: emulator.reply_to(sent, bot=name), REPLY_TIMEOUT, 0.2, f"the reply to 'echo {token}'")
    assert reply["text"] == token, bot.log()
    return reply
