"""Rust names for SQL names, and Rust string literals for ``#[sql_name]`` (diesel_spec.md §4.1, §4.9)."""

from __future__ import annotations

import unicodedata

# infer_schema_internals/inference.rs `RESERVED_NAMES` of diesel_cli 2.3.12 (diesel_spec.md §4.1).
_RESERVED_22 = frozenset("""
    abstract alignof as become box break const continue crate do else enum extern false final fn for if
    impl in let loop macro match mod move mut offsetof override priv proc pub pure ref return Self self
    sizeof static struct super trait true type typeof unsafe unsized use virtual where while yield bool
    columns is_nullable
""".split())
# 2.3.6 added `table` to the list (diesel_spec.md §7).
_RESERVED_23 = _RESERVED_22 | {"table"}


def is_reserved(name: str, style: str = "2.3") -> bool:
    """Return whether diesel appends ``_`` to ``name`` because Rust or diesel claims it."""
    reserved = _RESERVED_23 if style == "2.3" else _RESERVED_22
    return name in reserved or (name.startswith("__") and not name.endswith("_"))


def _is_plain(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char == "_")


def _replace_unmappable(name: str) -> str:
    """Replace every character that cannot appear in a Rust identifier by ``_``, then squash ``__``."""
    text = "".join(c if _is_plain(c) else "_" for c in name)
    while "__" in text:
        text = text.replace("__", "_")
    return text


def table_rust_name(sql_name: str, style: str = "2.3") -> str:
    """Return the Rust name diesel gives a table (reserved names and unmappable characters)."""
    if is_reserved(sql_name, style):
        return sql_name + "_"
    if all(_is_plain(c) for c in sql_name):
        return sql_name
    return _replace_unmappable(sql_name)


def column_rust_name(sql_name: str, table_rust: str, style: str = "2.3") -> str:
    """Return the Rust name diesel gives a column of the table whose Rust name is ``table_rust``.

    Since 2.3.10 a column named exactly like its table also gets ``_`` (diesel_spec.md §4.1).
    """
    if style == "2.3" and sql_name == table_rust:
        return sql_name + "_"
    return table_rust_name(sql_name, style)


def joinable_column_name(sql_name: str, style: str = "2.3") -> str:
    """Return the column name diesel writes in ``joinable!``: raw, only reserved names get ``_``.

    Diesel does not map unmappable characters here (diesel_spec.md §4.7 step 3); kept on purpose.
    """
    return sql_name + "_" if is_reserved(sql_name, style) else sql_name


def rust_string(name: str, style: str = "2.3", *, column: bool = False) -> str:
    r"""Return ``name`` as the Rust string literal diesel writes after ``#[sql_name = ``.

    2.3.10+ uses a raw string with enough ``#`` when the name holds a ``"``; 2.2 quotes verbatim;
    2.1 quotes table names verbatim and escapes column names like Rust's ``{:?}`` (diesel_spec.md §7).
    One deliberate difference from diesel: a name holding a backslash also gets a raw string.
    diesel writes it verbatim, which gives Rust that does not compile (``"\"`` swallows the
    closing quote, so the next ``#[sql_name]`` string can inject tokens) or that names another
    column (``"a\n"`` is a newline); there is no working output of diesel's to be identical to.
    """
    if style == "2.1" and column:
        return debug_string(name)
    if style != "2.3" or ('"' not in name and "\\" not in name):
        return f'"{name}"'
    hashes = "#" * (name.count("#") + 1)
    return f'r{hashes}"{name}"{hashes}'


_DEBUG_ESCAPES = {"\t": "\\t", "\r": "\\r", "\n": "\\n", "\\": "\\\\", '"': '\\"', "\0": "\\0"}


def debug_string(name: str) -> str:
    """Return ``name`` as Rust's ``{:?}`` prints a ``str``: quoted, ``"``/``\\``/controls escaped.

    Control characters other than tab, CR, LF and NUL become ``\\u{hex}``; other characters are
    kept (Rust also escapes a few unprintable non-control characters; SQL names rarely hold any).
    """
    out = []
    for char in name:
        if char in _DEBUG_ESCAPES:
            out.append(_DEBUG_ESCAPES[char])
        elif unicodedata.category(char) == "Cc":
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _lowercase(text: str) -> str:
    """Lower-case like heck: a final capital sigma becomes ``ς``."""
    out = []
    for i, char in enumerate(text):
        out.append("ς" if char == "Σ" and i == len(text) - 1 else char.lower())
    return "".join(out)


def _capitalize(word: str) -> str:
    return word[:1].upper() + _lowercase(word[1:]) if word else ""


def _words(text: str) -> list[str]:
    """Split ``text`` into words the way heck 0.5 does (diesel_cli names PostgreSQL types with it).

    Words are runs of alphanumeric characters; inside a run a new word starts before an upper-case
    letter that follows a lower-case one (``myType``), and before the last capital of a run of capitals
    followed by a lower-case letter (``HTTPServer`` → ``HTTP``, ``Server``).
    """
    words: list[str] = []
    for run in _alnum_runs(text):
        start = 0
        mode = ""  # "" boundary, "l" lower-case seen last, "u" upper-case seen last
        for i, char in enumerate(run):
            if i + 1 == len(run):
                words.append(run[start:])
                break
            nxt = run[i + 1]
            next_mode = "l" if char.islower() else "u" if char.isupper() else mode
            if next_mode == "l" and nxt.isupper():
                words.append(run[start:i + 1])
                start, mode = i + 1, ""
            elif mode == "u" and char.isupper() and nxt.islower():
                words.append(run[start:i])
                start, mode = i, ""
            else:
                mode = next_mode
    return [w for w in words if w]


def _alnum_runs(text: str) -> list[str]:
    runs, current = [], []
    for char in text:
        if char.isalnum():
            current.append(char)
        else:
            runs.append("".join(current))
            current = []
    runs.append("".join(current))
    return runs


def upper_camel_case(text: str) -> str:
    """Return ``text`` in UpperCamelCase as heck 0.5 writes it: ``my_enum`` → ``MyEnum``, ``int4`` → ``Int4``."""
    return "".join(_capitalize(word) for word in _words(text))
