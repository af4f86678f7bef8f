"""Lint settings from ``lightnb.toml`` (beside diesel.toml; never keys diesel_cli would reject).

```toml
[lint]
disable = ["timestamp-text"]             # rule ids to skip
severity = { fk-unindexed = "error" }    # per-rule severity overrides

[lint.secrets]
encrypted_prefixes = ["encrypted_"]      # the project's encryption convention
encrypted_suffixes = ["_encrypted", "_hash"]
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lightnb.errors import ProjectError
from lightnb.lint.finding import SEVERITIES, Severity

ALLOW_DESTRUCTIVE = "lightnb: allow-destructive"
DEFAULT_SECRET_WORDS = ("password", "passwd", "secret", "token", "apikey", "api_key", "private_key",
                        "credential", "credentials", "passphrase", "access_key", "client_secret")
DEFAULT_ENCRYPTED_PREFIXES = ("encrypted_", "enc_", "hashed_")
DEFAULT_ENCRYPTED_SUFFIXES = ("_encrypted", "_enc", "_hash", "_hashed", "_digest", "_ciphertext")


@dataclass(frozen=True, slots=True)
class LintConfig:
    """Which rules run, at what severity, and the project's conventions."""

    disabled: frozenset[str] = frozenset()
    severities: Mapping[str, Severity] | None = None
    secret_words: tuple[str, ...] = DEFAULT_SECRET_WORDS
    encrypted_prefixes: tuple[str, ...] = DEFAULT_ENCRYPTED_PREFIXES
    encrypted_suffixes: tuple[str, ...] = DEFAULT_ENCRYPTED_SUFFIXES

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

    :raises ProjectError: when the ``[lint]`` section has values of the wrong kind.
    """
    lint = dict((settings or {}).get("lint", {}) or {})
    secrets = dict(lint.get("secrets", {}) or {})
    severities = dict(lint.get("severity", {}) or {})
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
    )


def _strings(table: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = table.get(key, default)
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise ProjectError(f"lightnb.toml: [lint] {key} must be a list of strings, e.g. {key} = [\"x\"].")
    return tuple(v.lower() if key != "disable" else v for v in value)
