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

They are read into a :class:`lightnb.lint.options.LintConfig`, the record the rules and the engine take;
rule ids are checked against the registered rules, so this module stands above the engine.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from lightnb.errors import ProjectError
from lightnb.inspect.redact import Redactor
from lightnb.lint.finding import SEVERITIES
from lightnb.lint.options import (
    DEFAULT_ENCRYPTED_PREFIXES,
    DEFAULT_ENCRYPTED_SUFFIXES,
    DEFAULT_SECRET_WORDS,
    DEFAULT_SQLITE_MIN_VERSION,
    LintConfig,
    format_version,
)


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


LINT_KEYS = ("disable", "severity", "secrets", "sqlite_min_version")
SECRETS_KEYS = ("words", "encrypted_prefixes", "encrypted_suffixes")


def rule_ids() -> frozenset[str]:
    """Return the id of every registered lint rule."""
    from lightnb.lint.engine import load_rules
    from lightnb.lint.postgres_rules import RULES as POSTGRES_RULES

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
