"""The demo bot's commands: ``status`` (what is running) and ``echo`` (is it answering at all)."""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime
from importlib import metadata
from typing import Any

from webex_bot.models.command import Command

REPORTED_PACKAGES = ("webex_bot", "websockets", "webexpythonsdk")


def installed_version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"


def loaded_versions() -> dict[str, str]:
    """Versions of the reported packages, read when the process starts, right after it imported them.

    Read once: metadata read later would come from whatever release ``current`` points to by
    then, and a bot still running old code after a switch would claim the new versions.
    """
    return {name: installed_version(name) for name in REPORTED_PACKAGES}


def status_line(bot_name: str, started: datetime, versions: dict[str, str]) -> str:
    """One ``key=value`` line, easy for a probe's reply pattern to match.

    ``versions`` come from :func:`loaded_versions` at start, so the reply tells what this running
    process loaded, not what a release directory holds now.
    """
    fields = {
        "python": platform.python_version(),
        **versions,
        "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "pid": str(os.getpid()),
        "venv": sys.prefix,
    }
    return f"{bot_name} status: " + " ".join(f"{key}={value}" for key, value in fields.items())


class StatusCommand(Command):
    def __init__(self, bot_name: str, started: datetime) -> None:
        # Exact match: "echo status" must stay an echo.
        super().__init__(
            command_keyword="status",
            exact_command_keyword_match=True,
            help_message="Versions and start time of this bot process",
        )
        self.bot_name = bot_name
        self.started = started
        self.versions = loaded_versions()

    def execute(self, message: str, attachment_actions: Any, activity: Any) -> str:
        return status_line(self.bot_name, self.started, self.versions)


class EchoCommand(Command):
    def __init__(self) -> None:
        super().__init__(command_keyword="echo", help_message="Reply with the text after `echo`")

    def execute(self, message: str, attachment_actions: Any, activity: Any) -> str:
        text = (message or "").strip()
        return text or "(echo: nothing to echo)"
