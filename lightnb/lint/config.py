"""Lint settings from ``lightnb.toml`` (beside diesel.toml; never keys diesel_cli would reject).

```toml
[lint]
disable = ["timestamp-text"]             # rule ids to skip
severity = { fk-unindexed = "error" }    # per-rule severity overrides
sqlite_min_version = "3.37.2"            # the oldest SQLite the app runs on (default: Ubuntu 22.04's)

[lint.secrets]
encrypted_prefixes = ["encrypted_"]      # the project's encryption convention
encrypted_suffixes = ["_encrypted", "_hash"]
```
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lightnb.errors import ProjectError
from lightnb.inspect.redact import Redactor
from lightnb.lint.finding import SEVERITIES, Severity

ALLOW_DESTRUCTIVE = "lightnb: allow-destructive"
DEFAULT_SECRET_WORDS = ("password", "passwd", "secret", "token", "apikey", "api_key", "private_key",
                        "credential", "credentials", "passphrase", "access_key", "client_secret")
DEFAULT_ENCRYPTED_PREFIXES = ("encrypted_", "enc_", "hashed_")
DEFAULT_ENCRYPTED_SUFFIXES = ("_encrypted", "_enc", "_hash", "_hashed", "_digest", "_ciphertext")
# The oldest SQLite shipped by a Linux LTS release still in standard support: Ubuntu 22.04 LTS
# (libsqlite3-0 3.37.2, standard support until 2027). Debian 12 ships 3.40.1, RHEL 9 3.34.1 (RHEL
# teams set sqlite_min_version themselves).
DEFAULT_SQLITE_MIN_VERSION = (3, 37, 2)


@dataclass(frozen=True, slots=True)
class LintConfig:
    """Which rules run, at what severity, and the project's conventions."""

    disabled: frozenset[str] = frozenset()
    severities: Mapping[str, Severity] | None = None
    secret_words: tuple[str, ...] = DEFAULT_SECRET_WORDS
    encrypted_prefixes: tuple[str, ...] = DEFAULT_ENCRYPTED_PREFIXES
    encrypted_suffixes: tuple[str, ...] = DEFAULT_ENCRYPTED_SUFFIXES
    redactor: Any = field(default=None, compare=False)  # the project's Redactor, for measured examples
    sqlite_min_version: tuple[int, int, int] = DEFAULT_SQLITE_MIN_VERSION  # the oldest SQLite production runs

    def enabled(self, rule: str) -> bool:
        """Return True unless the project turned ``rule`` off."""
        return rule not in self.disabled

    def severity(self, rule: str, default: Severity) -> Severity:
        """Return the project's severity for ``rule``, else ``default``."""
        return (self.severities or {}).get(rule, default)

    def is_encrypted_name(self, column: str) -> bool:
        """Return True when a column name follows the project's encryption convention."""
        name = column.lower()
        return name.startswith(self.encrypted_prefixes) or name.endswith(self.encrypted_suffixes)


def config_from_settings(settings: Mapping[str, Any] | None) -> LintConfig:
    """Build a :class:`LintConfig` from ``Project.settings``.

    :raises ProjectError: when ``[lint]`` has an unknown key or rule id, or a value of the wrong kind.
    """
    lint = _table((settings or {}).get("lint", {}), "[lint]")
    _known_keys(lint, LINT_KEYS, "[lint]")
    secrets = _table(lint.get("secrets", {}), "[lint.secrets]")
    _known_keys(secrets, SECRETS_KEYS, "[lint.secrets]")
    severities = _table(lint.get("severity", {}), "[lint] severity")
    ids = rule_ids()
    named = [("disable", r) for r in _strings(lint, "disable", ())] + [("severity", r) for r in severities]
    for key, rule in named:
        if rule not in ids:
            raise ProjectError(f"lightnb.toml: [lint] {key} names unknown rule {rule!r}"
                               f"{_did_you_mean(rule, ids)}; valid rule ids: {', '.join(sorted(ids))}.")
    for rule, value in severities.items():
        if value not in SEVERITIES:
            raise ProjectError(f"lightnb.toml: [lint] severity for {rule!r} is {value!r}; "
                               f"use one of {', '.join(SEVERITIES)}.")
    return LintConfig(
        disabled=frozenset(_strings(lint, "disable", ())),
        severities=severities,
        secret_words=_strings(secrets, "words", DEFAULT_SECRET_WORDS),
        encrypted_prefixes=_strings(secrets, "encrypted_prefixes", DEFAULT_ENCRYPTED_PREFIXES),
        encrypted_suffixes=_strings(secrets, "encrypted_suffixes", DEFAULT_ENCRYPTED_SUFFIXES),
        redactor=Redactor.from_settings(settings),
        sqlite_min_version=parse_version(lint.get("sqlite_min_version", format_version(DEFAULT_SQLITE_MIN_VERSION))),
    )


def parse_version(value: Any) -> tuple[int, int, int]:
    """Parse ``"3.37.2"`` (or ``"3.37"``) into a tuple.

    :raises ProjectError: when it is not a SQLite 3 version number.
    """
    parts = value.split(".") if isinstance(value, str) else []
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts) or parts[0] != "3":
        raise ProjectError(f"lightnb.toml: [lint] sqlite_min_version is {value!r}; write the oldest SQLite your "
                           f"servers run as a string, e.g. sqlite_min_version = \"3.37.2\".")
    numbers = [int(p) for p in parts] + [0]
    return numbers[0], numbers[1], numbers[2]


def format_version(version: tuple[int, int, int]) -> str:
    """Return ``3.37.2`` for ``(3, 37, 2)``."""
    return ".".join(str(n) for n in version)


LINT_KEYS = ("disable", "severity", "secrets", "sqlite_min_version")
SECRETS_KEYS = ("words", "encrypted_prefixes", "encrypted_suffixes")


def rule_ids() -> frozenset[str]:
    """Return the id of every registered lint rule."""
    from lightnb.backends.postgres.pglint_rules import RULES as POSTGRES_RULES
    from lightnb.lint.engine import load_rules

    return frozenset(load_rules()) | frozenset(POSTGRES_RULES)


def _table(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ProjectError(f"lightnb.toml: {where} must be a table (key = value lines), not {value!r}.")
    return dict(value)


def _known_keys(table: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in known:
            raise ProjectError(f"lightnb.toml: unknown key {key!r} in {where}{_did_you_mean(key, known)}; "
                               f"valid keys: {', '.join(known)}.")


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _strings(table: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = table.get(key, default)
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise ProjectError(f"lightnb.toml: [lint] {key} must be a list of strings, e.g. {key} = [\"x\"].")
    return tuple(v.lower() if key != "disable" else v for v in value)
