# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet status page: one self-contained HTML file, the matrix and a timeline per bot.

No script, no font, no stylesheet or image from anywhere else: the page opens from a mail attachment
or an air-gapped share. Every text from a bot's state is escaped; failures are red.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from ansible_collections.botfleet.deploy.plugins.plugin_utils.report import _headers, status_report

_TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"
# History events that switch a release (module_utils/release_manager.py and rollback) and the others shown.
SWITCHES = ("canary", "rollout", "rollback", "provision", "activate", "deploy")
STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f2f2f2}
.fail{color:#b00020;font-weight:600}
.ok{color:#1b5e20}
li.fail{list-style:square}
h2{margin-top:1.5em}
code{font-size:90%}
"""


def _text(value):
    return html.escape(str(value if value is not None else ""), quote=True)


def timeline(bot):
    """The bot's story from state.json, oldest first: (at, kind, text, failed) per entry."""
    entries = []
    for event in bot.get("history") or []:
        if not isinstance(event, dict):
            continue
        kind = str(event.get("event") or "?")
        if kind == "watchdog":
            failed = event.get("outcome") != "answers"
            text = str(event.get("reason") or event.get("action") or "")
        elif kind in SWITCHES or event.get("release"):
            failed = kind == "rollback"
            text = f"{kind}: release {event.get('release')} (from {event.get('from') or 'none'})"
        elif kind == "lease_broken":
            failed = True
            holder = event.get("holder") or {}
            text = (
                f"lease of {holder.get('playbook') or 'a run'} by {holder.get('user')} broken ({event.get('reason')})"
            )
        else:
            failed = False
            text = f"{kind}: {event.get('reason') or event.get('releases') or ''}"
        entries.append((str(event.get("at") or ""), kind, text, failed))
    for verdict in bot.get("verdicts") or []:
        if not isinstance(verdict, dict):
            continue
        kind = str(verdict.get("event") or "?")
        failed = verdict.get("verdict") != "passed"
        label = "gate" if kind in ("gate", "provision") else kind
        text = f"{label} {verdict.get('verdict')} on release {verdict.get('release')}"
        if verdict.get("reason"):
            text += f": {verdict['reason']}"
        entries.append((str(verdict.get("at") or ""), f"{kind} verdict", text, failed))
    return sorted(entries, key=lambda entry: entry[0])


def status_html(bots, packages=("webex-bot", "websockets"), hosts=None, now=None):
    """The status page of ``bots`` (what status.yml reads on each), as one HTML document."""
    now = now or datetime.now(UTC)
    report = status_report(bots, packages, hosts, now)
    headers = _headers([re.sub(r"[-_.]+", "-", str(name)).lower() for name in packages])
    stamp = now.strftime(_TIMESTAMP)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>botfleet status, {stamp}</title><style>{STYLE}</style></head><body>",
        f"<h1>botfleet status, {stamp}</h1>",
        f'<p id="summary">{_text(report["summary"])}</p>',
        '<table id="matrix"><thead><tr>'
        + "".join(f"<th>{_text(title)}</th>" for _key, title in headers)
        + "</tr></thead><tbody>",
    ]
    for row in report["rows"]:
        cells = []
        for key, _title in headers:
            value = row.get(key, "")
            bad = value.startswith(("NO", "FAILED", "YES", "UNREACHABLE")) or (
                key == "unit" and value not in ("active/running", "-")
            )
            cells.append(f'<td class="{"fail" if bad else ""}" data-key="{_text(key)}">{_text(value)}</td>')
        out.append(f'<tr data-bot="{_text(row["bot"])}">' + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    for bot in report["json"]["bots"]:
        entries = timeline(bot)
        out.append(f'<h2 id="bot-{_text(bot["bot"])}">{_text(bot["bot"])}</h2>')
        if not entries:
            out.append("<p>No recorded history.</p>")
            continue
        out.append(f'<ul class="timeline" data-bot="{_text(bot["bot"])}">')
        for at, kind, text, failed in reversed(entries):
            css = "fail" if failed else "ok"
            out.append(f'<li class="{css}" data-kind="{_text(kind)}"><code>{_text(at)}</code> {_text(text)}</li>')
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
