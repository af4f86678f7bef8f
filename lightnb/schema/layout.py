"""Layout of the printed schema: diesel 2.2's raw text, or what rustfmt makes of diesel 2.3's.

diesel_cli 2.3 pipes its output through ``rustfmt``; on diesel's output rustfmt only removes
trailing whitespace and trailing blank lines and reflows ``allow_tables_to_appear_in_same_query!``
(diesel_spec.md §4.11). This module reproduces that without a Rust toolchain. When rustfmt would
reject the text (an invalid escape in a string, unbalanced brackets in a ``joinable!`` column),
diesel keeps the raw text, and so do we.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

ALLOW_TABLES = "diesel::allow_tables_to_appear_in_same_query!("
_MAX_WIDTH = 100
_INDENT = "    "
# rustfmt keeps short invocations on one line: prefix + names + ",);" within max_width (§4.11).
_SINGLE_LINE_NAMES = _MAX_WIDTH - len(ALLOW_TABLES) - 2
# rustfmt packs items of at most this width several to a line ("mixed" list tactic).
_SHORT_ITEM = 10


def allow_tables_raw(names: Sequence[str]) -> str:
    """Return diesel 2.3's unformatted invocation (names glued with ``,``), ending in a newline."""
    return f"{ALLOW_TABLES}\n{_INDENT}" + "".join(f"{n}," for n in names) + ");\n"


def allow_tables_vertical(names: Sequence[str]) -> str:
    """Return the invocation with one table per line (diesel 2.2, and rustfmt for long names)."""
    return f"{ALLOW_TABLES}\n" + "".join(f"{_INDENT}{n},\n" for n in names) + ");\n"


def allow_tables_rustfmt(names: Sequence[str], indent: int = 0) -> str:
    """Return the invocation as rustfmt lays it out (single line, packed, or vertical).

    :param indent: columns the invocation is indented by (4 inside ``pub mod <schema>``).
    """
    joined = ", ".join(names)
    if len(joined) <= _SINGLE_LINE_NAMES - indent:
        return f"{ALLOW_TABLES}{joined},);\n"
    if all(len(n) <= _SHORT_ITEM for n in names):
        return f"{ALLOW_TABLES}\n" + "".join(f"{line}\n" for line in _packed(names, indent)) + ");\n"
    return allow_tables_vertical(names)


def _packed(names: Sequence[str], indent: int = 0) -> list[str]:
    """Pack ``name,`` items greedily into lines of at most ``max_width - 1`` characters."""
    lines: list[str] = []
    line = ""
    for name in names:
        item = f"{name},"
        if line and len(line) + 1 + len(item) <= _MAX_WIDTH - 1 - indent:
            line += " " + item
        else:
            if line:
                lines.append(line)
            line = _INDENT + item
    if line:
        lines.append(line)
    return lines


# rustfmt's defaults for attributes (attr_fn_like_width = 70% of max_width).
_ATTR_FN_LIKE_WIDTH = 70


def display_width(text: str) -> int:
    """Return the columns rustfmt counts for ``text``: wide East Asian characters 2, combining marks 0."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Cf", "Mn", "Me"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def derive_attribute(paths: Sequence[str], indent: int) -> list[str]:
    """Return ``#[derive(…)]`` as rustfmt writes it (``format_derive``), lines relative to ``indent``.

    On one line when it fits; else the list goes on the next line, kept on one line when it fits
    there, one path per line otherwise, always with a trailing comma.
    """
    joined = ", ".join(paths)
    if len(joined) + 1 <= _MAX_WIDTH - indent - len("#[derive()]") - len("()]"):
        return [f"#[derive({joined})]"]
    if display_width(joined) <= _MAX_WIDTH - indent - len(_INDENT):
        return ["#[derive(", f"{_INDENT}{joined},", ")]"]
    return ["#[derive(", *(f"{_INDENT}{path}," for path in paths), ")]"]


def meta_attribute(outer: str, inner: str, items: Sequence[str], indent: int) -> list[str]:
    """Return ``#[outer(inner(items))]`` as rustfmt writes it, lines relative to ``indent``.

    rustfmt keeps it on one line when the items fit the inner list's one-line width (and, for
    several items, ``attr_fn_like_width``; a lone multi-line literal needs only its first line to
    fit); else ``inner``'s list overflows below, one item a line.
    """
    joined = ", ".join(items)
    one_line = _MAX_WIDTH - indent - len("#[") - len("]") - len(outer) - len("(") - len(")") - 1 \
        - len(inner) - len("()")
    if len(items) == 1 and "\n" in joined:  # a multi-line literal stays put when its first line fits
        fits = display_width(joined.split("\n", 1)[0]) <= min(one_line, _ATTR_FN_LIKE_WIDTH)
    elif len(items) == 1:
        fits = display_width(joined) <= one_line
    else:
        fits = "\n" not in joined and display_width(joined) <= min(one_line, _ATTR_FN_LIKE_WIDTH)
    if fits:
        return [f"#[{outer}({inner}({joined}))]"]
    body = [f"{_INDENT}{item}," for item in items[:-1]] + [f"{_INDENT}{items[-1]}"]
    return [f"#[{outer}({inner}(", *body, "))]"]


# Keywords of Rust 2015, rustfmt's default edition: not usable as module or struct names.
_KEYWORDS = frozenset("""
    as break const continue crate else enum extern false fn for if impl in let loop match mod move mut pub
    ref return self Self static struct super trait true type unsafe use where while abstract become box do
    final macro override priv typeof unsized virtual yield _
""".split())


def is_identifier(name: str) -> bool:
    """Return whether ``name`` is a Rust identifier rustfmt parses as a module or struct name."""
    return name.isidentifier() and name not in _KEYWORDS


def is_path(text: str) -> bool:
    """Return whether ``text`` is a plain Rust path (``Clone``, ``diesel::query_builder::QueryId``)."""
    segments = text.removeprefix("::").split("::")
    return all(s.isidentifier() and (s not in _KEYWORDS or s in ("crate", "self", "super", "Self"))
               for s in segments)


# Marks whitespace that rustfmt keeps at a line end: inside a string literal of formatted code
# (``#[diesel(postgres_type(name = "…"))]``), unlike in macro bodies. NUL cannot occur in SQL names.
_KEEP = "\x00"


def keep_line_end_whitespace(literal: str) -> str:
    """Protect the whitespace before each newline of a string literal from :func:`tidy`."""
    return re.sub(r"([^\S\n]+)\n", lambda m: m.group(1) + _KEEP + "\n", literal)


def tidy(text: str) -> str:
    """Apply rustfmt's whitespace rules: no trailing spaces, exactly one final newline."""
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).rstrip("\n").replace(_KEEP, "") + "\n"


_OPENERS = {"(": ")", "[": "]", "{": "}"}
_PUNCTUATION = set(";,.@#~?:$=!<>-&|+*/^%")
_SIMPLE_ESCAPES = set("nrt\\0'\"")


def _string_end(text: str, start: int) -> int | None:
    """Return the index after the closing quote of the string opening at ``start``, or None if invalid."""
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == '"':
            return i + 1
        if char == "\\":
            length = _escape_length(text, i)
            if length is None:
                return None
            i += length
            continue
        i += 1
    return None


def _escape_length(text: str, i: int) -> int | None:
    """Return the length of the valid Rust escape at ``text[i]`` (a backslash), or None."""
    nxt = text[i + 1:i + 2]
    if nxt in _SIMPLE_ESCAPES and nxt:
        return 2
    if nxt == "\n":
        return 2
    if nxt == "x":
        digits = text[i + 2:i + 4]
        ok = len(digits) == 2 and all(c in "0123456789abcdefABCDEF" for c in digits) and int(digits, 16) < 0x80
        return 4 if ok else None
    if nxt == "u" and text[i + 2:i + 3] == "{":
        close = text.find("}", i + 3)
        digits = text[i + 3:close] if close != -1 else ""
        if 1 <= len(digits) <= 6 and all(c in "0123456789abcdefABCDEF_" for c in digits):
            value = int(digits.replace("_", "") or "0", 16)
            if value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF:
                return close + 1 - i
    return None


def _raw_string_end(text: str, start: int) -> int | None:
    """Return the index after a raw string ``r#*"…"#*`` starting at ``start``, or None."""
    i = start + 1
    hashes = 0
    while i < len(text) and text[i] == "#":
        hashes += 1
        i += 1
    if i >= len(text) or text[i] != '"':
        return None
    close = text.find('"' + "#" * hashes, i + 1)
    return None if close == -1 else close + 1 + hashes


_BASES = {"b": "01", "o": "01234567", "x": "0123456789abcdefABCDEF"}


def _digits_end(text: str, i: int, digits: str) -> tuple[int, bool]:
    """Return the index after a run of ``digits`` and ``_``, and whether it held a digit."""
    seen = False
    while i < len(text) and (text[i] in digits or text[i] == "_"):
        seen = seen or text[i] != "_"
        i += 1
    return i, seen


def _suffix_end(text: str, i: int) -> int:
    while i < len(text) and (text[i] == "_" or ("a" + text[i]).isidentifier()):
        i += 1
    return i


def _number_end(text: str, i: int) -> int | None:
    """Return the index after the number literal at ``i`` (with its suffix), or None where rustc's
    lexer fails (``0x``, ``0b2``, ``6e``, ``1e_``, ``0o7e``), which makes rustfmt refuse the file."""
    base = _BASES.get(text[i + 1:i + 2]) if text[i] == "0" else None
    if base is not None:
        end, seen = _digits_end(text, i + 2, base if base == _BASES["x"] else "0123456789")
        if not seen or any(c not in base + "_" for c in text[i + 2:end]):
            return None
        if base != _BASES["x"] and text[end:end + 1] in ("e", "E"):
            return None
        return _suffix_end(text, end)
    end, _ = _digits_end(text, i, "0123456789")
    if text[end:end + 1] in ("e", "E"):
        end, seen = _digits_end(text, end + 1 + (text[end + 1:end + 2] in ("+", "-")), "0123456789")
        if not seen:
            return None
    return _suffix_end(text, end)


def _is_ident_start(char: str) -> bool:
    return char == "_" or char.isidentifier()


def _skip_comment(text: str, i: int) -> int | None:
    """Return the index after the comment at ``i`` (``//`` or nested ``/* */``), or None."""
    if text.startswith("//", i):
        end = text.find("\n", i)
        return len(text) if end == -1 else end
    depth, i = 1, i + 2
    while i < len(text) and depth:
        if text.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("*/", i):
            depth, i = depth - 1, i + 2
        else:
            i += 1
    return i if depth == 0 else None


def _token_end(text: str, i: int) -> int | None:
    """Return the index after the token starting at ``text[i]``, or None if Rust cannot lex it."""
    char = text[i]
    if char == "r" and text[i + 1:i + 2] in ('"', "#"):
        return _raw_string_end(text, i)
    if _is_ident_start(char):
        j = i + 1
        while j < len(text) and (text[j] == "_" or ("a" + text[j]).isidentifier()):
            j += 1
        return j
    if char.isdigit():
        return _number_end(text, i)
    if char == '"':
        return _string_end(text, i)
    if char == "'":
        if text[i + 1:i + 2] == "\\":
            length = _escape_length(text, i + 1)
            end = None if length is None else i + 1 + length
            return end + 1 if end is not None and text[end:end + 1] == "'" else None
        if text[i + 2:i + 3] == "'":
            return i + 3
        return _token_end(text, i + 1) if _is_ident_start(text[i + 1:i + 2] or " ") else None
    if char in _PUNCTUATION:
        return i + 1
    return None


def rust_tokens_valid(text: str) -> bool:
    """Return whether ``text`` lexes as Rust tokens with balanced delimiters (what rustfmt needs)."""
    if "\r" in text:  # rustc rejects a bare carriage return in strings and doc comments
        return False
    stack: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if text.startswith(("//", "/*"), i):
            end = _skip_comment(text, i)
        elif char in _OPENERS:
            stack.append(_OPENERS[char])
            end = i + 1
        elif char in ")]}":
            if not stack or stack.pop() != char:
                return False
            end = i + 1
        else:
            end = _token_end(text, i)
        if end is None:
            return False
        i = end
    return not stack
