"""Fixtures for the lab tests; the machinery lives in lab_support.py."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Importable by name whatever pytest's import mode; lab_support is a unique module name.
sys.path.insert(0, str(Path(__file__).parent))
# The emulator package, for tests of its rules without a server (it runs from lab/ the same way).
sys.path.insert(0, str(Path(__file__).parents[2] / "lab"))

from lab_support import (
    IDENTITIES,
    LAB_PYTHON,
    BotProcess,
    DemoVenv,
    Emulator,
    VersionPair,
    build_demo_wheel,
    demo_source_digest,
    ensure_demo_venv,
    start_bot_process,
    start_emulator_process,
)


@pytest.fixture
def identities_file(tmp_path: Path) -> Path:
    path = tmp_path / "identities.json"
    path.write_text(json.dumps(IDENTITIES), encoding="utf-8")
    return path


@pytest.fixture
def start_emulator(tmp_path: Path, identities_file: Path) -> Iterator[Callable[..., Emulator]]:
    """Start emulators on free ports; all are stopped at teardown."""
    started: list[Emulator] = []

    def start(*extra: str, heartbeat: float = 2.0) -> Emulator:
        log_path = tmp_path / f"emulator-{len(started)}.log"
        emulator = start_emulator_process(identities_file, log_path, *extra, heartbeat=heartbeat)
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(start_emulator: Callable[..., Emulator]) -> Emulator:
    return start_emulator()


@pytest.fixture(scope="session")
def demo_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_wheel(tmp_path_factory.mktemp("demo-bot-build"))


@pytest.fixture(scope="session")
def demo_venv(demo_wheel: Path) -> Callable[[VersionPair], DemoVenv]:
    """Return the cached venv of a version pair, checked to hold exactly the pinned versions."""
    if not LAB_PYTHON.exists():
        pytest.skip(f"{LAB_PYTHON} not found; set BOTFLEET_LAB_PYTHON to a Python >= 3.10 interpreter")
    digest = demo_source_digest()
    ready: dict[VersionPair, DemoVenv] = {}

    def get(pair: VersionPair) -> DemoVenv:
        if pair not in ready:
            venv = ensure_demo_venv(pair, demo_wheel, digest)
            versions = venv.versions()
            assert (versions["webex_bot"], versions["websockets"]) == (pair.webex_bot, pair.websockets), versions
            ready[pair] = venv
        return ready[pair]

    return get


@pytest.fixture
def start_bot(tmp_path: Path) -> Iterator[Callable[..., BotProcess]]:
    """Run the demo bot (as barnacles, or ``name=``) from a venv against an emulator; stopped at teardown."""
    running: list[BotProcess] = []

    def start(
        venv: DemoVenv, emulator: Emulator, name: str = "barnacles", extra_env: dict[str, str] | None = None
    ) -> BotProcess:
        log_path = tmp_path / f"bot-{name}-{venv.pair.key}-{uuid.uuid4().hex[:6]}.log"
        bot = start_bot_process(venv, emulator, log_path, name, extra_env)
        running.append(bot)
        return bot

    yield start
    for bot in running:
        bot.stop()
