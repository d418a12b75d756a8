"""The fleet status page (plugin_utils/status_page.py) rendered in real headless Chromium.

The page is written from fixture state shaped as status.yml reads it (state.json history and verdicts,
watchdog.json), loaded from a file:// URL with no network, and checked: no console message, a matrix
row per bot with its release, the timeline's failures in red. A screenshot is kept under .build/ as
a CI artifact; the molecule scenario `faults` checks the page written from real bots' state.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from lab_support import REPO

from ansible_collections.botfleet.deploy.plugins.plugin_utils.status_page import status_html

pytestmark = pytest.mark.slow

OUT = REPO / ".build" / "status-page"
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
BOTS = [
    {
        "bot": "barnacles",
        "vm": "vm1",
        "current": "7c6d0a1b2c3d",
        "target": "7c6d0a1b2c3d",
        "packages": {"webex-bot": "1.3.1", "websockets": "16.1"},
        "unit": {"active_state": "active", "sub_state": "running", "uptime": 3600, "restarts": 0},
        "canary": {"verdict": "passed", "release": "7c6d0a1b2c3d", "at": "2026-11-28T06:00:00Z"},
        "history": [
            {"event": "provision", "release": "51b0aa11bb22", "from": None, "at": "2026-11-27T08:00:00Z"},
            {"event": "canary", "release": "7c6d0a1b2c3d", "from": "51b0aa11bb22", "at": "2026-11-28T06:00:00Z"},
        ],
        "verdicts": [
            {"event": "canary", "verdict": "passed", "release": "7c6d0a1b2c3d", "at": "2026-11-28T06:01:00Z"},
            {"event": "soak", "verdict": "passed", "release": "7c6d0a1b2c3d", "at": "2026-11-28T08:30:00Z"},
        ],
        "watchdog": {
            "last_probe": {"ok": True, "latency": 0.31, "at": "2026-11-28T08:55:00Z"},
            "failures": 0,
            "restarts": [],
            "restarts_total": 0,
        },
    },
    {
        "bot": "toodles",
        "vm": "vm1",
        "current": "51b0aa11bb22",
        "target": "7c6d0a1b2c3d",
        "packages": {"webex-bot": "1.0.8", "websockets": "11.0.3"},
        "unit": {"active_state": "active", "sub_state": "running", "uptime": 120, "restarts": 1},
        "history": [
            {"event": "provision", "release": "51b0aa11bb22", "from": None, "at": "2026-11-27T08:00:00Z"},
            {
                "event": "watchdog",
                "action": "restarted",
                "outcome": "answers",
                "release": "51b0aa11bb22",
                "at": "2026-11-28T08:58:00Z",
                "reason": "watchdog restarted toodles after 2 failed probes in a row; it answers again",
            },
        ],
        "verdicts": [
            {
                "event": "canary",
                "verdict": "failed",
                "release": "aaaaaaaaaaaa",
                "at": "2026-11-27T10:00:00Z",
                "reason": "gate: probe: no reply <script>alert(1)</script>",
            },
            {"event": "rollback", "verdict": "passed", "release": "51b0aa11bb22", "at": "2026-11-27T10:01:00Z"},
        ],
    },
    {
        "bot": "jarvis",
        "vm": "vm2",
        "current": "51b0aa11bb22",
        "target": "7c6d0a1b2c3d",
        "packages": {"webex-bot": "1.0.8", "websockets": "11.0.3"},
        "unit": {"active_state": "active", "sub_state": "running", "uptime": 30, "restarts": 2},
        "history": [
            {
                "event": "watchdog",
                "action": "alerted",
                "outcome": "deaf",
                "release": "51b0aa11bb22",
                "at": "2026-11-28T08:59:00Z",
                "reason": "jarvis did not answer 3 probes in a row; not restarted again",
            },
        ],
        "verdicts": [],
        "watchdog": {
            "last_probe": {"ok": False, "at": "2026-11-28T08:59:00Z"},
            "failures": 3,
            "restarts": [NOW.timestamp() - 600, NOW.timestamp() - 300],
            "restarts_total": 2,
        },
    },
]
HOSTS = ["barnacles", "toodles", "jarvis", "msoar"]


class Page(HTMLParser):
    """What the checks read of the DOM Chromium dumps: matrix cells per bot, timeline items."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self.items: list[tuple[str, str, str]] = []  # (bot, class, text)
        self.scripts = 0
        self._row: str | None = None
        self._cell: str | None = None
        self._timeline: str | None = None
        self._item: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "tr" and attr.get("data-bot"):
            self._row = attr["data-bot"]
            self.rows[self._row] = {}
        if tag == "td" and self._row:
            self._cell = attr.get("data-key")
            self.rows[self._row][self._cell or ""] = ""
        if tag == "ul" and "timeline" in (attr.get("class") or ""):
            self._timeline = attr.get("data-bot")
        if tag == "li" and self._timeline:
            self._item = [self._timeline, attr.get("class") or "", ""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None
        if tag == "td":
            self._cell = None
        if tag == "ul":
            self._timeline = None
        if tag == "li" and self._item:
            self.items.append((self._item[0], self._item[1], self._item[2]))
            self._item = None

    def handle_data(self, data: str) -> None:
        if self._row and self._cell:
            self.rows[self._row][self._cell] += data
        if self._item is not None:
            self._item[2] += data


def chromium() -> str:
    found = shutil.which("chromium")
    if not found:
        pytest.fail("chromium is not installed: run lab/setup-host.sh (make host-deps)")
    return found


def render(page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Chromium headless on ``page``; its console messages go to stderr (--enable-logging)."""
    argv = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1600,1000",
        "--user-data-dir=" + str(OUT / "profile"),
        *extra,
        page.as_uri(),
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_the_console_check_sees_an_error_of_a_page() -> None:
    """The check below can fail: a page whose script throws shows on Chromium's console."""
    OUT.mkdir(parents=True, exist_ok=True)
    broken = OUT / "broken.html"
    broken.write_text("<!DOCTYPE html><html><body><script>botfleet_undefined()</script></body></html>")
    assert console_lines(render(broken, "--dump-dom").stderr), "Chromium's console output was not captured"


def test_the_status_page_renders_the_matrix_and_the_timelines_in_chromium() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page = OUT / "fleet-status.html"
    page.write_text(status_html(BOTS, ["webex_bot", "websockets"], HOSTS, NOW))
    dumped = render(page, "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    assert console_lines(dumped.stderr) == []
    dom = Page()
    dom.feed(dumped.stdout)
    assert dom.scripts == 0  # the failure that quoted a <script> is text, not code
    assert sorted(dom.rows) == sorted(HOSTS)
    for bot in BOTS:
        assert dom.rows[bot["bot"]]["release"] == bot["current"]
        assert dom.rows[bot["bot"]]["webex-bot"] == bot["packages"]["webex-bot"]
    assert dom.rows["msoar"]["unit"] == "UNREACHABLE"
    assert dom.rows["jarvis"]["watchdog_restarts"] == "2 last hour, 2 in all"
    assert dom.rows["barnacles"]["watchdog"].startswith("0.31s")
    red = [(bot, text) for bot, css, text in dom.items if css == "fail"]
    assert [bot for bot, _text in red] == ["toodles", "jarvis"]
    assert "no reply <script>alert(1)</script>" in red[0][1]
    assert any("watchdog restarted toodles" in text for bot, css, text in dom.items if css == "ok")
    # Newest first in each timeline.
    newest = next(text for bot, _css, text in dom.items if bot == "barnacles")
    assert newest.startswith("2026-11-28T08:30:00Z soak")

    shot = REPO / ".build" / "fleet-status.png"
    shot.unlink(missing_ok=True)
    taken = render(page, f"--screenshot={shot}")
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000
