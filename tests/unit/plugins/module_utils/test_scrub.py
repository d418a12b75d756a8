"""The one scrubber: whole secrets, every prefix of 8 characters or more, patterns, nested results."""

from __future__ import annotations

import random
import string

import pytest

from ansible_collections.botfleet.deploy.plugins.module_utils.scrub import BEARER, MASK, MIN_PREFIX, Scrubber, scrub

TOKEN = "NzA0ZDM3ZjMtYjNkYi00ZTM2LWE3YzYtZGQxN2Q0ZmQ2YjA4_PF84_0f1b2c3d"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"echo: Bearer {TOKEN}!", f"echo: Bearer {MASK}!"),
        (f"cut at 80: {TOKEN[:60]}...", f"cut at 80: {MASK}..."),
        (f"exactly eight: {TOKEN[:8]}", f"exactly eight: {MASK}"),
        (f"seven is left: {TOKEN[:7]}", f"seven is left: {TOKEN[:7]}"),
        (f"{TOKEN}{TOKEN}", MASK),  # adjacent copies form one masked run
        (f"{TOKEN[:20]} and {TOKEN}", f"{MASK} and {MASK}"),
        (f"a prefix then more: {TOKEN[:30]}XYZ", f"a prefix then more: {MASK}XYZ"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_secrets_and_their_prefixes_are_masked(text, expected):
    assert Scrubber([TOKEN]).text(text) == expected


def test_a_short_secret_is_masked_whole_only():
    scrubber = Scrubber(["pw1234"])
    assert scrubber.text("pw1234 and pw12") == f"{MASK} and pw12"


def test_a_prefix_inside_a_longer_copy_does_not_leave_the_tail():
    # Periodic secret: the leftmost match covers part of the real copy; the union of matches covers it all.
    secret = "abcdefgh" * 3 + "Z"
    text = "abcdefgh" + secret
    assert scrub(text, [secret]) == MASK


def test_several_secrets_and_empty_ones():
    scrubber = Scrubber(["first-secret-value", "", None, "second-secret-value"])
    assert scrubber.text("first-secret-value / second-secret") == f"{MASK} / {MASK}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-ghi", f"Authorization: Bearer {MASK}"),
        ("authorization: bearer\tX", f"authorization: bearer {MASK}"),
        ("('Bearer abc/def+ghi==');", f"('Bearer {MASK}');"),
        ('{"auth": "Bearer abc"}', f'{{"auth": "Bearer {MASK}"}}'),
        (f"Bearer {MASK}", f"Bearer {MASK}"),
        ("Bearers are fine", "Bearers are fine"),
    ],
)
def test_bearer_pattern_masks_any_token(text, expected):
    assert Scrubber([], [BEARER]).text(text) == expected


def test_nested_results_are_scrubbed_keys_and_values():
    result = {
        "msg": f"failed: {TOKEN[:40]}",
        "reasons": [f"probe said {TOKEN}", ("tuple", TOKEN[:12])],
        TOKEN: {"deeper": [TOKEN[:9]]},
        "count": 3,
        "ok": None,
    }
    assert scrub(result, [TOKEN]) == {
        "msg": f"failed: {MASK}",
        "reasons": [f"probe said {MASK}", ("tuple", MASK)],
        MASK: {"deeper": [MASK]},
        "count": 3,
        "ok": None,
    }


def test_no_substring_of_eight_survives_random_prefix_cuts():
    rng = random.Random(20261128)  # noqa: S311 - seeded on purpose: a failure must be reproducible
    alphabet = string.ascii_letters + string.digits + "-_."
    for _round in range(2000):
        token = "".join(rng.choices(alphabet, k=rng.randint(20, 200)))
        if rng.random() < 0.2:  # periodic tokens stress overlapping matches
            chunk = token[: rng.randint(1, 9)]
            token = (chunk * 200)[: len(token)]
        cut = rng.randint(MIN_PREFIX, len(token))
        before = "".join(rng.choices(alphabet + " <>:", k=rng.randint(0, 40)))
        text = f"{before}Bearer {token[:cut]}' {token} {token[:cut]}"
        scrubbed = Scrubber([token]).text(text)
        leaks = [token[i : i + MIN_PREFIX] for i in range(len(token) - MIN_PREFIX + 1)]
        assert not [piece for piece in leaks if piece in scrubbed], (token, text, scrubbed)
