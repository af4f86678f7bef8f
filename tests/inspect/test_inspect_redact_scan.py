"""Masking by value skips detectors a text cannot match, and remembers a blob's verdict: same output."""

from __future__ import annotations

import random

import pytest

from lightnb.inspect import redact
from lightnb.inspect.redact import MASK, Redactor

SECRETS = [
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "rk_test_abcdefgh12345678", "whsec_abcdefghijklmnop1234",
    "AKIAIOSFODNN7EXAMPLE", "ghp_" + "a1B2" * 9, "github_pat_" + "x9_Y" * 10, "xoxb-1234567890-abcdef",
    "AIza" + "Sy" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "sk-" + "proj_abcdefghijklmnopqrstuv",
    "AC" + "0123456789abcdef" * 2, "$2b$12$" + "a" * 53, "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
    "$6$rounds=5000$saltsalt$" + "b" * 40, "pbkdf2_sha256$260000$salt$hash=", "bcrypt_sha256$abc", "scrypt$x$y",
    "Authorization: Bearer abcdefgh12345678", "basic QWxhZGRpbjpvcGVu", "postgres://app:hunter2@db/app",
    "ada@example.com", "+14155550123", "+44 20 7946 0958", "020 7946 0958", "(415) 555-0123",
    "4111 1111 1111 1111", "10.0.0.1", "fe80::1ff:fe23:4567:890a", "password=hunter2", '{"token": "abc123xyz"}',
]
ORDINARY = ["customer-42", "just some text", "version 1.2.3.4", "total: 100", "", "gh is not a token",
            "a://b without a password", "crypt is a word", "@ alone", "+ alone", "2024-06-01-000000"]


def _reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every detector run on every text, nothing remembered: the masking as it was before the shortcuts."""
    monkeypatch.setattr(redact, "_LITERALS", tuple(() for _ in redact._DETECTORS))
    monkeypatch.setattr(redact, "_BLOB_MEMO_BYTES", -1)
    redact._BLOB_VERDICTS.clear()


def _values() -> list[object]:
    rng = random.Random(15)
    texts = SECRETS + ORDINARY + [f"note {s} end" for s in SECRETS]
    blobs = [t.encode() for t in texts] + [rng.randbytes(1000) for _ in range(40)]
    blobs += [rng.randbytes(300) + s.encode() + rng.randbytes(300) for s in SECRETS]
    return [*texts, *blobs, bytearray(b"ada@example.com"), memoryview(b"no secret here")]


def _masked(redactor: Redactor, values: list[object]) -> list[object]:
    return [redactor.scrub(v) for v in values] + [redactor.scrub(v, "app_version") for v in values] \
        + [redactor.message(v) for v in values if isinstance(v, str)]


def test_masked_values_are_the_same_as_with_every_detector_run(monkeypatch: pytest.MonkeyPatch) -> None:
    values = _values()
    redact._BLOB_VERDICTS.clear()
    fast = _masked(Redactor(), values) + _masked(Redactor(), values)  # twice: the second from memory
    with monkeypatch.context() as patch:
        _reference(patch)
        slow = _masked(Redactor(), values) + _masked(Redactor(), values)
    assert fast == slow
    # the secrets are masked: in text only the secret part, a blob whole
    assert all(Redactor().scrub(s) != s for s in SECRETS)
    assert all(Redactor().scrub(b"x " + s.encode()) == MASK for s in SECRETS)
    assert [Redactor().scrub(s) for s in ORDINARY] == ORDINARY


def test_each_shortcut_names_one_detector_and_every_match_holds_its_text() -> None:
    for part in redact._LITERALS_BY_PART:
        assert sum(part in pattern.pattern for pattern, _group, _check in redact._DETECTORS) == 1, part
    for (pattern, _group, _check), needed in zip(redact._DETECTORS, redact._LITERALS):
        for text in SECRETS + [f"x {s} y" for s in SECRETS]:
            for match in pattern.finditer(text):
                assert not needed or any(part in match.group(0) for part in needed), (pattern.pattern, text)


class _Spy:
    """A detector's pattern that counts the texts it searched."""

    def __init__(self, pattern: object, searched: list[str]) -> None:
        self.pattern, self._searched = pattern, searched

    def finditer(self, text: str) -> object:
        self._searched.append(text)
        return self.pattern.finditer(text)  # type: ignore[attr-defined]


def test_a_text_without_a_detectors_literal_is_not_searched_by_it(monkeypatch: pytest.MonkeyPatch) -> None:
    searched: list[str] = []
    spied = tuple((_Spy(p, searched) if "gh[pousr]_" in p.pattern else p, g, c) for p, g, c in redact._DETECTORS)
    monkeypatch.setattr(redact, "_DETECTORS", spied)
    assert Redactor().scrub("plain words, no token here") == "plain words, no token here"
    assert searched == []
    token = "ghp_" + "a1B2" * 9
    assert Redactor().scrub(f"see {token}") == f"see {MASK}"
    assert searched == [f"see {token}"]


def test_a_blob_is_scanned_once_per_redactor_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    redact._BLOB_VERDICTS.clear()
    calls: list[str] = []
    real = redact._mask_spans
    monkeypatch.setattr(redact, "_mask_spans", lambda text, r, v: calls.append(text) or real(text, r, v))
    plain, secret = random.Random(1).randbytes(1000), b"\x00\xffada@example.com\x01"
    assert [Redactor().scrub(plain), Redactor().scrub(plain)] == [plain, plain]
    assert [Redactor().scrub(secret), Redactor().scrub(bytearray(secret))] == [MASK, MASK]
    assert len(calls) == 2  # an equal redactor's verdict is reused
    # other settings judge again: a word that makes a key secret here, a different mask
    keyed = b"\x00color=blue\x01"
    assert Redactor().scrub(keyed) == keyed
    assert Redactor(patterns=("color",)).scrub(keyed) == MASK
    assert Redactor(mask="***").scrub(secret) == "***"
    assert len(calls) == 5
    big = bytes(redact._BLOB_MEMO_BYTES + 1)
    Redactor().scrub(big)
    Redactor().scrub(big)
    assert len(calls) == 7  # large blobs are not kept


def test_the_memory_of_blob_verdicts_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    redact._BLOB_VERDICTS.clear()
    monkeypatch.setattr(redact, "_BLOB_MEMO_ENTRIES", 4)
    for i in range(10):
        Redactor().scrub(bytes([i]) * 10)
    assert len(redact._BLOB_VERDICTS) == 4
    assert (Redactor(), bytes([9]) * 10) in redact._BLOB_VERDICTS
