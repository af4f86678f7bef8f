"""What a lint run is told: the :class:`LintConfig` record, its defaults and the project's conventions.

The rules, the registry and the engine take their settings from here; :mod:`lightnb.lint.config`
reads the project's ``[lint]`` settings into a :class:`LintConfig` (checking rule ids against the
registered rules, so it stands above the engine).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lightnb.lint.finding import Severity

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



def format_version(version: tuple[int, int, int]) -> str:
    """Return ``3.37.2`` for ``(3, 37, 2)``."""
    return ".".join(str(n) for n in version)
