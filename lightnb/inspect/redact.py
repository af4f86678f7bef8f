"""Mask secrets in everything that leaves the core: by column name, by lineage, and by value.

**By name.** A column is sensitive when one of the words of its name (split on ``_``, ``-``,
spaces, digits and camelCase humps) is a sensitive word, when a long sensitive word is glued
into a word (``userpassword``, ``accesstoken``), or when it is listed explicitly as
``table.column`` (shell-style patterns allowed). Exemptions win over everything.

**By lineage.** A redactor bound to a database (:func:`lightnb.inspect.lineage.bind`) also masks
the columns whose values come from a masked column: generated columns, full-text index shadow
tables, columns a trigger copies into, views; those land in :attr:`Redactor.derived`.

**By value.** Whatever its column, text that has the shape of a secret is masked where it appears
(only the matching part, so the text stays readable): phone numbers (E.164, national forms with a
trunk 0, North-American forms with separators), e-mail addresses, IPv4 and IPv6 addresses (a dotted
quad in a version context - a ``*version*`` column, or after ``v``/``version`` - is a version, not an
address), provider ids (Twilio-style SIDs: two capitals and 32 hex digits), well-known token shapes
(``sk_live_…``, AWS, GitHub, Slack, Google keys, JWTs, private-key blocks, bearer tokens), password
hashes (bcrypt, argon2, crypt, pbkdf2), card numbers (Luhn-valid), the password of a URL, the value
after a secret-named key in ``key=value`` / ``key: value`` text, and inside JSON text every value under
a secret-named key (the JSON stays JSON). Integers are never secrets by value: ids, counts and times
stay visible.

**Times.** An integer in a column whose name ends in a time word (``email_timestamp``,
``token_expires_at``) is a time, not a secret, and stays visible even though the name holds a
sensitive word; text in such a column is still masked.

Revealing is a per-call ``reveal=True``; nothing defaults to it.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

MASK = "[redacted]"

DEFAULT_PATTERNS: tuple[str, ...] = (
    "token", "secret", "password", "passwd", "pwd", "pw", "passphrase", "hash", "hashed", "key", "apikey",
    "salt", "otp", "totp", "pin", "iban", "card", "creditcard", "cardnumber", "cvv", "cvc", "ssn",
    "email", "phone", "credential", "credentials", "cookie", "session", "jwt", "bearer", "signature",
    "private", "encrypted", "ciphertext",
)

# A name ending in one of these words holds a time: its integers are shown (email_timestamp).
TIME_WORDS = frozenset({"timestamp", "ts", "at", "on", "time", "date", "datetime", "until"})
# A dotted quad in a column named with one of these words is a version, not an IP address.
_VERSION_WORDS = frozenset({"version", "versions", "ver", "release", "build", "semver"})

# Words this long are also caught when glued to another word ("accesstoken", "creditcard",
# "sessionid"); shorter ones only as a whole word, so "monkey", "keyboard", "pinned",
# "shipping" or "hashtag" stay visible. Gluing errs on the side of masking ("possession").
_GLUE_MIN = 5

_SECTION_KEYS = {"patterns", "extra_patterns", "columns", "exempt", "exemptions", "mask", "replace_defaults"}

# Splitting identifiers into words is not language parsing: names are words.
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

_JSON_LIMIT = 1 << 20  # JSON text longer than this is scanned as text, not parsed

# Whether a blob holds a secret, by redactor (compared by its settings) and blob: blobs up to this size,
# this many of them (at most 16 MiB held).
_BLOB_MEMO_BYTES = 64 << 10
_BLOB_MEMO_ENTRIES = 256
_BLOB_VERDICTS: dict[tuple[Redactor, bytes], bool] = {}


def name_words(name: str) -> tuple[str, ...]:
    """Split an identifier into lower-case words (snake_case, kebab-case, camelCase)."""
    return tuple(word.lower() for word in _WORDS.findall(name))


def is_time_name(name: str) -> bool:
    """Tell whether a column name says it holds a time (its last word is a time word)."""
    words = name_words(name)
    return len(words) > 1 and words[-1] in TIME_WORDS


def _word_matches(word: str, pattern: str) -> bool:
    if word in (pattern, pattern + "s", pattern + "es"):
        return True
    return len(pattern) >= _GLUE_MIN and (word.startswith(pattern) or word.endswith(pattern))


@dataclass(frozen=True, slots=True)
class Redactor:
    """Decide which columns are sensitive and mask their values (and secret-shaped values anywhere).

    :param patterns: sensitive words matched against the words of a column name.
    :param columns: explicit ``table.column`` patterns (``*`` allowed) that are always masked.
    :param exempt: ``table.column`` patterns that are never masked by name or lineage (they win).
    :param mask: the text that replaces a non-null sensitive value.
    :param derived: ``(table, column)`` pairs (lower case) whose values come from a masked column,
        found by :func:`lightnb.inspect.lineage.bind` in one database.
    """

    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    columns: tuple[str, ...] = ()
    exempt: tuple[str, ...] = ()
    mask: str = MASK
    derived: frozenset[tuple[str, str]] = frozenset()
    _cache: dict[tuple[str, str], bool] = field(default_factory=dict, init=False, compare=False, repr=False)

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
        """Build the redactor a project configures (defaults when there is no project).

        Columns the project's migrations fill from masked ones (renamed, copied by ``CREATE TABLE …
        AS SELECT`` or ``INSERT … SELECT``, set by ``UPDATE``) are masked too.
        """
        redactor = cls.from_settings(getattr(project, "settings", None))
        migrations = getattr(project, "migrations_dir", None)
        if migrations is None:
            return redactor
        from lightnb.inspect.lineage import history_lineage

        return redactor.with_derived(history_lineage(migrations, redactor))

    def with_derived(self, pairs: Iterable[tuple[str, str]]) -> Redactor:
        """Return a copy that also masks the ``(table, column)`` pairs given (derived from masked data)."""
        more = frozenset((t.lower(), c.lower()) for t, c in pairs)
        return self if more <= self.derived else replace(self, derived=self.derived | more)

    # -- by name and lineage --------------------------------------------------------------------------------
    def is_sensitive(self, column: str, table: str | None = None) -> bool:
        """Tell whether values of ``column`` (of ``table``, if known) must be masked."""
        cache_key = (table or "", column)
        known = self._cache.get(cache_key)
        if known is None:
            known = self._decide(column, table)
            self._cache[cache_key] = known
        return known

    def is_exempt(self, column: str, table: str | None = None) -> bool:
        """Tell whether the project exempts ``column`` from masking by name and lineage."""
        qualified = f"{table or '*'}.{column}".lower()
        return any(_qualified_match(qualified, p, table) for p in self.exempt)

    def _decide(self, column: str, table: str | None) -> bool:
        if self.is_exempt(column, table):
            return False
        qualified = f"{table or '*'}.{column}".lower()
        if any(_qualified_match(qualified, p, table) for p in self.columns):
            return True
        if table is not None and (table.lower(), column.lower()) in self.derived:
            return True
        if table is None and any(c == column.lower() for _t, c in self.derived):
            return True
        words = name_words(column)
        return any(_word_matches(w, p) for w in words for p in self.patterns)

    def sensitive_columns(self, columns: Iterable[str], table: str | None = None) -> list[str]:
        """Return the subset of ``columns`` that is sensitive, in order."""
        return [c for c in columns if self.is_sensitive(c, table)]

    def masks(self, value: Any, column: str, table: str | None = None, *, sensitive: bool | None = None) -> bool:
        """Tell whether ``value`` of ``column`` is masked whole (sensitive column; a time column's
        integers excepted; NULL never)."""
        if value is None:
            return False
        if sensitive is None:
            sensitive = self.is_sensitive(column, table)
        if not sensitive:
            return False
        explicit = any(_qualified_match(f"{table or '*'}.{column}".lower(), p, table) for p in self.columns)
        return explicit or not (_is_number(value) and is_time_name(column))

    # -- masking ----------------------------------------------------------------------------------------
    def value(self, value: Any) -> Any:
        """Mask one value (NULL stays NULL: nullness is not the secret)."""
        return None if value is None else self.mask

    def cell(self, value: Any, column: str | None = None, table: str | None = None, *,
             sensitive: bool | None = None) -> Any:
        """Return ``value`` as it may be shown: masked whole when its column is sensitive (see
        :meth:`masks`), else with secret-shaped parts masked (:meth:`scrub`)."""
        if column is not None and self.masks(value, column, table, sensitive=sensitive):
            return self.mask
        if sensitive and column is None:
            return self.value(value)
        return self.scrub(value, column)

    def scrub(self, value: Any, column: str | None = None) -> Any:
        """Mask the secret-shaped parts of one value (text; JSON keeps its structure; a blob whose text
        holds a secret shape is masked whole)."""
        if isinstance(value, (bytes, bytearray, memoryview)):
            return self.mask if self._blob_holds_secret(bytes(value)) else value
        if not isinstance(value, str) or not value or value == self.mask:
            return value
        return self.scrub_text(value, version_context=column is not None
                               and bool(set(name_words(column)) & _VERSION_WORDS))

    def _blob_holds_secret(self, blob: bytes) -> bool:
        """Tell whether a blob's text holds a secret shape (remembered for small blobs: a preview shows
        the same value on both sides, and again in the inspect step)."""
        cacheable = len(blob) <= _BLOB_MEMO_BYTES
        if cacheable:
            known = _BLOB_VERDICTS.get((self, blob))
            if known is not None:
                return known
        text = blob.decode("utf-8", errors="replace")
        verdict = _mask_spans(text, self, False) != text
        if cacheable:
            if len(_BLOB_VERDICTS) >= _BLOB_MEMO_ENTRIES:
                del _BLOB_VERDICTS[next(iter(_BLOB_VERDICTS))]  # the oldest first
            _BLOB_VERDICTS[(self, blob)] = verdict
        return verdict

    def scrub_text(self, text: str, *, version_context: bool = False) -> str:
        """Mask secret-shaped parts of free text (JSON text: values under secret-named keys too)."""
        stripped = text.strip()
        if stripped[:1] in ("{", "[") and len(text) <= _JSON_LIMIT:
            masked = self._json_text(text)
            if masked is not None:
                return masked
        return _mask_spans(text, self, version_context)

    def message(self, text: str) -> str:
        """Mask an error message: secret-shaped parts, and the values SQLite quotes in its messages."""
        text = _QUOTED_DATA.sub(lambda m: (m.group(1) or m.group(4)) + self.mask + (m.group(3) or m.group(6)), text)
        return _mask_spans(text, self, False)

    def row(self, row: Mapping[str, Any], table: str | None = None, *, reveal: bool = False,
            extra: Iterable[str] = ()) -> dict[str, Any]:
        """Return a copy of ``row`` with sensitive values (and ``extra`` columns) masked, the rest scrubbed."""
        if reveal:
            return dict(row)
        forced = set(extra)
        return {k: self.cell(v, k, table, sensitive=True if k in forced else None) for k, v in row.items()}

    def frame(self, frame: pd.DataFrame, table: str | None = None, *, reveal: bool = False,
              extra: Iterable[str] = ()) -> pd.DataFrame:
        """Return a copy of ``frame`` with sensitive columns masked, the rest scrubbed (MultiIndex: last level)."""
        import pandas as pd

        if reveal:
            return frame.copy()
        out = frame.copy()
        forced = set(extra)
        for label in out.columns:
            name = label[-1] if isinstance(label, tuple) else str(label)
            sensitive = True if name in forced else self.is_sensitive(name, table)
            values = [None if _isna(v) else v for v in out[label]]
            shown = [self.cell(v, name, table, sensitive=sensitive) for v in values]
            if shown != values:
                out[label] = pd.Series(shown, index=out.index, dtype=object)
        return out

    # -- JSON ----------------------------------------------------------------------------------------------
    def _json_text(self, text: str) -> str | None:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return None
        if not isinstance(data, (dict, list)):
            return None
        try:
            masked = self._json(data)
        except RecursionError:
            return self.mask
        if masked == data:
            return text
        compact = not re.search(r"[,:]\s", text)
        return json.dumps(masked, ensure_ascii=False, separators=(",", ":") if compact else None)

    def _json(self, data: Any, key: str | None = None) -> Any:
        if key is not None and self.masks(data, key, None) and not isinstance(data, bool):
            return self.mask
        if isinstance(data, dict):
            return {k: self._json(v, str(k)) for k, v in data.items()}
        if isinstance(data, list):
            return [self._json(v) for v in data]
        if isinstance(data, str):
            return self.scrub(data, key)
        return data


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _isna(value: Any) -> bool:
    try:
        return value is None or bool(value != value)  # NaN / NA
    except (TypeError, ValueError):
        return False


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


# -- secrets by value -----------------------------------------------------------------------------------------
# Each detector is (regex, group to mask, validator). Validators see the whole match.

def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _e164(match: re.Match[str]) -> bool:
    return 8 <= len(_digits(match.group(0))) <= 15


def _national(match: re.Match[str]) -> bool:
    digits = _digits(match.group(0))
    if digits.startswith("00"):  # 00… international prefix, then an E.164 number
        return 10 <= len(digits) <= 17 and digits[2] != "0"
    return 9 <= len(digits) <= 12 and digits[1] != "0"  # 0… trunk prefix


# How card numbers are written when split: groups of four (the last may be shorter), or 4-6-5 / 4-6-4.
_CARD_GROUPS = re.compile(r"\d{4}(?:[ -]\d{4})*(?:[ -]\d{1,4})?|\d{4}[ -]\d{6}[ -]\d{4,5}")


def _luhn(match: re.Match[str]) -> bool:
    text = match.group(0)
    digits = _digits(text)
    if not 13 <= len(digits) <= 19:
        return False
    if digits != text and not _CARD_GROUPS.fullmatch(text):
        return False  # split like a date or a migration version (2024-01-15-093000), not like a card
    if _timestamp_digits(digits):
        return False  # YYYYMMDDHHMMSS…: a diesel migration version or a compact time, no card's prefix
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _timestamp_digits(digits: str) -> bool:
    """True for digits that begin with a plausible time YYYYMMDDHHMMSS (years 1970–2099)."""
    if len(digits) < 14:
        return False
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:8])
    hour, minute, second = int(digits[8:10]), int(digits[10:12]), int(digits[12:14])
    return 1970 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 \
        and second < 61


def _ipv6(match: re.Match[str]) -> bool:
    text = match.group(0)
    if text.count(":") < 2 or not any(c.isdigit() for c in text):
        return False
    try:
        ipaddress.IPv6Address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _sid(match: re.Match[str]) -> bool:
    return any(c.isdigit() for c in match.group(0)[2:])


_VERSION_BEFORE = re.compile(r"(?:\bv|\bversion|\bver\.?|\brelease|\bbuild)\s*[:=]?\s*$", re.IGNORECASE)

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"

_DETECTORS: tuple[tuple[re.Pattern[str], int, Callable[[re.Match[str]], bool] | None], ...] = tuple(
    (re.compile(pattern, flags), group, check) for pattern, flags, group, check in (
        # private keys, whole block
        (r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.S, 0, None),
        # JSON Web Tokens
        (r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*", 0, 0, None),
        # well-known API key shapes
        (r"(?<![A-Za-z0-9])(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{8,}", 0, 0, None),
        (r"(?<![A-Za-z0-9])whsec_[A-Za-z0-9+/=_-]{16,}", 0, 0, None),
        (r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])", 0, 0, None),
        (r"(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})", 0, 0, None),
        (r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}", 0, 0, None),
        (r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}", 0, 0, None),
        (r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,}", 0, 0, None),
        # provider account ids: Twilio-style SIDs (AC…, MG…, SM…: two capitals, 32 hex digits)
        (r"(?<![A-Za-z0-9])[A-Z]{2}[0-9a-fA-F]{32}(?![A-Za-z0-9])", 0, 0, _sid),
        # password hashes
        (r"\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}", 0, 0, None),
        (r"\$argon2(?:id|i|d)\$[^\s'\"]+", 0, 0, None),
        (r"\$[156]\$(?:rounds=\d+\$)?[^\s$'\"]{1,16}\$[./A-Za-z0-9]{20,}", 0, 0, None),
        (r"\b(?:pbkdf2_sha(?:1|256|512)|bcrypt_sha256|scrypt)\$[^\s'\",;]+", 0, 0, None),
        # bearer / basic credentials, the password of a URL
        (r"\b(?:[Bb]earer|[Bb]asic|BEARER|BASIC)\s+([A-Za-z0-9._~+/=-]{8,})", 0, 1, None),
        (r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@'\"]*:([^@\s/'\"]+)@", 0, 1, None),
        # e-mail addresses
        (r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])",
         0, 0, None),
        # phone numbers: E.164 (contiguous first, then with separators), national with a trunk 0, NANP
        (r"(?<![\w+])\+\d{8,15}(?!\d)", 0, 0, _e164),
        (r"(?<![\w+])\+(?:\d[ .()-]{0,2}){7,14}\d(?![\w])", 0, 0, _e164),
        (r"(?<![\w+.\-/:])(?:\(0\d{1,4}\)|0\d{1,4})(?:[ -]?\d{2,4}){2,4}(?![\w.\-/:])", 0, 0, _national),
        (r"(?<![\w.\-+/:])(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w.\-/:])", 0, 0, None),
        # card numbers (Luhn-valid, major networks)
        (r"(?<![\d-])[2-6](?:[ -]?\d){12,18}(?![\d-])", 0, 0, _luhn),
        # IP addresses
        (rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\.?\d|\w)", 0, 0, None),
        (r"(?<![\w:.])[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*(?:%\w+)?(?![\w:])", 0, 0, _ipv6),
    ))

_IPV4_INDEX = len(_DETECTORS) - 2

# Text any match of a detector contains (one of these strings, case as written): a text without any of
# them is not searched with that detector, which cannot match it (most text holds none of them).
_LITERALS_BY_PART = {
    "-----BEGIN": ("-----BEGIN",), r"\beyJ": ("eyJ",), "_(?:live|test)_": ("_live_", "_test_"),
    "whsec_": ("whsec_",), "(?:AKIA|ASIA)": ("AKIA", "ASIA"), "gh[pousr]_": ("gh", "github_pat_"),
    "xox[abposr]": ("xox",), "AIza": ("AIza",), "sk-[": ("sk-",), "pbkdf2_sha": ("pbkdf2_sha", "crypt"),
    "[Bb]earer": ("earer", "EARER", "asic", "ASIC"), "://": ("://",), "@[A-Za-z0-9-]+": ("@",),
    r"\+\d{8,15}": ("+",), r"\+(?:\d": ("+",),
}
_LITERALS: tuple[tuple[str, ...], ...] = tuple(
    next((needed for part, needed in _LITERALS_BY_PART.items() if part in pattern.pattern), ())
    for pattern, _group, _check in _DETECTORS)

# key=value, key: value, "key": "value", key <> 'value' (a CHECK quoted in an error) — the value is
# masked when the key is a secret name. SQLite's "unrecognized token: X" quotes the SQL, not a value.
_KEY_VALUE = re.compile(
    r"""(?<![\w$])(?<!unrecognized )(["']?)([A-Za-z_][A-Za-z0-9_.-]{0,63})\1\s*(?:=>|==|!=|<>|:|=)\s*"""
    r"""(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\n]|'')*)'|([^\s,;&"'}\])]+))""")
_NOT_A_VALUE = {"null", "none", "true", "false", "?", ""}

# SQLite messages that quote data: a JSON path built from a value, an FTS5 query read from a row.
_QUOTED_DATA = re.compile(r"""((?:JSON path error|bad JSON path|malformed JSON)[^'"]{0,20}near ')([^']*)(')"""
                          r"""|(fts5: syntax error near ")([^"]*)(")""")


def _mask_spans(text: str, redactor: Redactor, version_context: bool) -> str:
    spans: list[tuple[int, int]] = []
    for index, (pattern, group, check) in enumerate(_DETECTORS):
        needed = _LITERALS[index]
        if needed and not any(part in text for part in needed):
            continue
        for match in pattern.finditer(text):
            if check is not None and not check(match):
                continue
            if index == _IPV4_INDEX and (version_context or _VERSION_BEFORE.search(text, 0, match.start())):
                continue
            start, end = match.span(group)
            if start < end:
                spans.append((start, end))
    position = 0
    while (pair := _KEY_VALUE.search(text, position)) is not None:
        key = pair.group(2).rsplit(".", 1)[-1]
        group = next(g for g in (3, 4, 5) if pair.group(g) is not None)
        value = pair.group(group)
        # Keep looking inside the value of a key that is not secret ({'settings': '{"token": "…"}'}).
        position = pair.start(group) if pair.start(group) > pair.start() else pair.end()
        if value.lower() in _NOT_A_VALUE or value == redactor.mask or value.startswith(":"):
            continue
        number = re.fullmatch(r"-?\d+(?:\.\d+)?", value)
        if redactor.masks(float(value) if number else value, key, None):
            spans.append(pair.span(group))
            position = pair.end()
    if not spans:
        return text
    spans.sort()
    merged = [list(spans[0])]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, last = [], 0
    for start, end in merged:
        out.append(text[last:start] + redactor.mask)
        last = end
    return "".join(out) + text[last:]


DEFAULT_REDACTOR = Redactor()


def mask_message(text: str, redactor: Redactor | None = None) -> str:
    """Mask an error message or any free text shown to people (see :meth:`Redactor.message`)."""
    return (redactor or DEFAULT_REDACTOR).message(text)
