"""Mask values of sensitive columns in everything that leaves the core.

A column is sensitive when one of the words of its name (split on ``_``, ``-``,
spaces, digits and camelCase humps) is a sensitive word, when a long sensitive
word is glued into a word (``userpassword``, ``accesstoken``), or when it is
listed explicitly as ``table.column`` (shell-style patterns allowed). Exemptions win
over everything. Revealing is a per-call ``reveal=True``; nothing defaults to it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

MASK = "[redacted]"

DEFAULT_PATTERNS: tuple[str, ...] = (
    "token", "secret", "password", "passwd", "pwd", "pw", "passphrase", "hash", "hashed", "key", "apikey",
    "salt", "otp", "totp", "pin", "iban", "card", "creditcard", "cardnumber", "cvv", "cvc", "ssn",
    "email", "phone", "credential", "credentials", "cookie", "session", "jwt", "bearer", "signature",
    "private",
)

# Words this long are also caught when glued to another word ("accesstoken", "creditcard",
# "sessionid"); shorter ones only as a whole word, so "monkey", "keyboard", "pinned",
# "shipping" or "hashtag" stay visible. Gluing errs on the side of masking ("possession").
_GLUE_MIN = 5

_SECTION_KEYS = {"patterns", "extra_patterns", "columns", "exempt", "exemptions", "mask", "replace_defaults"}

# Splitting identifiers into words is not language parsing: names are words.
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def name_words(name: str) -> tuple[str, ...]:
    """Split an identifier into lower-case words (snake_case, kebab-case, camelCase)."""
    return tuple(word.lower() for word in _WORDS.findall(name))


def _word_matches(word: str, pattern: str) -> bool:
    if word in (pattern, pattern + "s", pattern + "es"):
        return True
    return len(pattern) >= _GLUE_MIN and (word.startswith(pattern) or word.endswith(pattern))


@dataclass(frozen=True, slots=True)
class Redactor:
    """Decide which columns are sensitive and mask their values.

    :param patterns: sensitive words matched against the words of a column name.
    :param columns: explicit ``table.column`` patterns (``*`` allowed) that are always masked.
    :param exempt: ``table.column`` patterns that are never masked (they win).
    :param mask: the text that replaces a non-null sensitive value.
    """

    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    columns: tuple[str, ...] = ()
    exempt: tuple[str, ...] = ()
    mask: str = MASK
    _cache: dict[tuple[str, str], bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> Redactor:
        """Build a redactor from lightnb settings (the ``redact`` section, if any).

        Recognised keys: ``patterns`` (extra words, added to the defaults),
        ``columns`` (explicit ``table.column``), ``exempt`` and ``mask``;
        ``replace_defaults = true`` drops the default words.
        """
        settings = settings or {}
        section = dict(settings["redact"] if "redact" in settings else
                       (settings if set(settings) & _SECTION_KEYS else {}))
        extra = tuple(str(p).lower() for p in _as_list(section.get("patterns", section.get("extra_patterns"))))
        base = () if section.get("replace_defaults") else DEFAULT_PATTERNS
        return cls(
            patterns=base + extra,
            columns=tuple(str(c).lower() for c in _as_list(section.get("columns"))),
            exempt=tuple(str(c).lower() for c in _as_list(section.get("exempt", section.get("exemptions")))),
            mask=str(section.get("mask", MASK)),
        )

    @classmethod
    def for_project(cls, project: Any | None) -> Redactor:
        """Build the redactor a project configures (defaults when there is no project)."""
        return cls.from_settings(getattr(project, "settings", None))

    def is_sensitive(self, column: str, table: str | None = None) -> bool:
        """Tell whether values of ``column`` (of ``table``, if known) must be masked."""
        cache_key = (table or "", column)
        known = self._cache.get(cache_key)
        if known is None:
            known = self._decide(column, table)
            self._cache[cache_key] = known
        return known

    def _decide(self, column: str, table: str | None) -> bool:
        qualified = f"{table or '*'}.{column}".lower()
        if any(_qualified_match(qualified, p, table) for p in self.exempt):
            return False
        if any(_qualified_match(qualified, p, table) for p in self.columns):
            return True
        words = name_words(column)
        return any(_word_matches(w, p) for w in words for p in self.patterns)

    def sensitive_columns(self, columns: Iterable[str], table: str | None = None) -> list[str]:
        """Return the subset of ``columns`` that is sensitive, in order."""
        return [c for c in columns if self.is_sensitive(c, table)]

    def value(self, value: Any) -> Any:
        """Mask one value (NULL stays NULL: nullness is not the secret)."""
        return None if value is None else self.mask

    def row(self, row: Mapping[str, Any], table: str | None = None, *, reveal: bool = False,
            extra: Iterable[str] = ()) -> dict[str, Any]:
        """Return a copy of ``row`` with sensitive values (and ``extra`` columns) masked."""
        if reveal:
            return dict(row)
        forced = set(extra)
        return {k: (self.value(v) if k in forced or self.is_sensitive(k, table) else v)
                for k, v in row.items()}

    def frame(self, frame: pd.DataFrame, table: str | None = None, *, reveal: bool = False,
              extra: Iterable[str] = ()) -> pd.DataFrame:
        """Return a copy of ``frame`` with sensitive columns masked (MultiIndex: last level)."""
        import pandas as pd

        if reveal:
            return frame.copy()
        out = frame.copy()
        forced = set(extra)
        for label in out.columns:
            name = label[-1] if isinstance(label, tuple) else str(label)
            if name in forced or self.is_sensitive(name, table):
                masked = [None if m else self.mask for m in out[label].isna()]
                out[label] = pd.Series(masked, index=out.index, dtype=object)
        return out


def _qualified_match(qualified: str, pattern: str, table: str | None) -> bool:
    if "." not in pattern:
        pattern = f"*.{pattern}"
    if table is None and not pattern.startswith("*."):
        # Unknown table (a query column): an explicit `table.column` still counts by column.
        pattern = "*." + pattern.split(".", 1)[1]
    return fnmatch.fnmatchcase(qualified, pattern)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


DEFAULT_REDACTOR = Redactor()
