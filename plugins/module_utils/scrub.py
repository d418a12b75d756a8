# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one scrubber of secrets in messages, results and records.

Standard library only: it runs on the target inside modules and on the controller.

Ansible's no_log masking replaces a secret only where its whole value appears. A message that
quotes an HTTP answer cut at some length can hold the first part of a token, which that masking
misses. So a Scrubber removes every known secret *and every prefix of it of MIN_PREFIX characters
or more*, and text is scrubbed before it is cut, never after.
"""

from __future__ import annotations

import re

MASK = "********"
# A leaked prefix this long is worth masking; a shorter one is noise that would mask ordinary words.
MIN_PREFIX = 8
# An Authorization value in an echoed request, whatever the token: 'Bearer <token68>' (RFC 6750's
# characters, so that the quotes and brackets around it stay, and a mask is never masked again).
BEARER = re.compile(r"\b(Bearer)\s+[A-Za-z0-9._~+/-]+=*", re.IGNORECASE)


class Scrubber:
    """Masks ``secrets`` (strings) and every prefix of them of MIN_PREFIX characters or more.

    ``patterns`` are regular expressions whose matches are masked too, after the secrets; a pattern
    with a group keeps the text of its first group (``Bearer ********``).
    """

    def __init__(self, secrets=(), patterns=()):
        self.secrets = sorted({str(s) for s in secrets if s is not None and str(s) != ""}, key=len, reverse=True)
        self.patterns = list(patterns)

    def text(self, value):
        """``value`` as a string with every secret, every long enough prefix of one and every pattern masked."""
        text = str(value)
        spans = []
        for secret in self.secrets:
            spans.extend(_spans(text, secret))
        text = _mask(text, spans)
        for pattern in self.patterns:
            text = pattern.sub(_keep_first_group, text)
        return text

    def __call__(self, value):
        """``value`` scrubbed: strings (and the keys and items of dicts, lists and tuples, recursively);
        other values are returned as they are."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self(key): self(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self(item) for item in value)
        return value


def record_secrets(secrets):
    """The ``secrets`` worth masking in records and reports: those of MIN_PREFIX characters or more.

    A shorter string (a port such as 8790 kept among a bot's secrets) would also be masked inside release
    ids, times and names, and a state file with its release ids masked is no state file any more.
    """
    return [str(s) for s in secrets if s is not None and len(str(s)) >= MIN_PREFIX]


def scrub(value, secrets, patterns=()):
    """``value`` with ``secrets`` masked as a Scrubber does (a string, or a dict/list of them)."""
    return Scrubber(secrets, patterns)(value)


def _spans(text, secret):
    """(start, end) of every occurrence in ``text`` of ``secret`` or of a prefix of it that is at least
    MIN_PREFIX characters long (the whole secret when it is shorter). Occurrences may overlap."""
    if len(secret) < MIN_PREFIX:
        head, longest = secret, len(secret)
    else:
        head, longest = secret[:MIN_PREFIX], len(secret)
    spans = []
    start = text.find(head)
    while start != -1:
        end = start + _common_length(text, start, secret[:longest])
        spans.append((start, end))
        start = text.find(head, start + 1)
    return spans


def _common_length(text, start, secret):
    """How far ``text`` from ``start`` goes on like ``secret``."""
    limit = min(len(secret), len(text) - start)
    length = 0
    while length < limit and text[start + length] == secret[length]:
        length += 1
    return length


def _mask(text, spans):
    """``text`` with each union of overlapping ``spans`` replaced by one MASK."""
    if not spans:
        return text
    parts = []
    position = 0
    for start, end in _merged(spans):
        parts.append(text[position:start])
        parts.append(MASK)
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _merged(spans):
    merged = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _keep_first_group(match):
    return f"{match.group(1)} {MASK}" if match.re.groups else MASK
