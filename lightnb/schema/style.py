"""Tell which diesel_cli style (2.2 or 2.3) printed an existing ``schema.rs``.

The visible differences (diesel_spec.md §7): 2.3 runs rustfmt, which puts a short
``allow_tables_to_appear_in_same_query!`` on one line (2.2 always writes one table per line) and
drops the blank line of an empty schema; 2.3.10+ writes raw strings in ``#[sql_name]`` when a name
holds a quote, and renames a column named ``table``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from lightnb.schema import layout
from lightnb.schema.config import DEFAULT_STYLE
from lightnb.schema.print_schema import HEADER

if TYPE_CHECKING:
    from lightnb.models.schema_rs import SchemaColumn


def detect_style(text: str) -> str | None:
    """Return ``"2.1"``, ``"2.2"`` or ``"2.3"`` when the text shows which diesel printed it, else None.

    2.1 and 2.2 print the same layout; a 2.1 file tells only through escaped ``#[sql_name]`` strings
    of columns, so most 2.1 files read as 2.2, which prints them identically.
    """
    if text == HEADER + "\n":
        return "2.2"
    if text == HEADER:
        return "2.3"
    from lightnb.models.schema_rs import parse_schema  # the Rust reader loads only when a file is read
    votes = set()
    schema = parse_schema(text, strict=False)
    for group in schema.groups:
        as_22 = layout.allow_tables_vertical(group.names).rstrip("\n")
        as_23 = layout.allow_tables_rustfmt(group.names).rstrip("\n")
        if group.text == as_23 and group.text != as_22:
            votes.add("2.3")
        elif group.text == as_22 and group.text != as_23:
            votes.add("pre-2.3")
    for table in schema.tables:
        for column in table.columns:
            votes.update(_column_votes(table.rust_name, column))
    if "pre-2.3" in votes:  # 2.1 or 2.2: only a 2.1-escaped string tells them apart
        votes.discard("pre-2.3")
        if "2.1" not in votes:
            votes.add("2.2")
    return votes.pop() if len(votes) == 1 else None


def _column_votes(table_rust: str, column: SchemaColumn) -> set[str]:
    """Return the styles a column line is consistent with, when only one is (diesel_spec.md §7)."""
    if column.sql_literal.startswith("r"):
        return {"2.3"}  # raw strings: 2.3.10+
    if column.sql_literal.startswith('"') and "\\" in column.sql_literal:
        return {"2.1"}  # `{:?}` escapes: 2.1 (2.2 and 2.3 never escape)
    if '"' in column.sql_name:
        return {"2.3"}  # 2.2 writes the quote verbatim, which is not a string tree-sitter reads back
    # 2.3.6+ reserves `table`; 2.3.10+ renames a column named like its table.
    if column.sql_name in ("table", table_rust):
        if column.rust_name == column.sql_name + "_":
            return {"2.3"}
        if column.rust_name == column.sql_name:
            return {"pre-2.3"}
    return set()


def choose_style(existing: str, printed: Mapping[str, str]) -> str:
    """Return the style an existing file was printed in, judged against fresh renderings.

    :param existing: the schema file's text.
    :param printed: style -> what that style prints for the database now.
    When the file itself does not tell (:func:`detect_style`), the style whose rendering differs
    from the file in the fewest lines wins; a tie keeps :data:`DEFAULT_STYLE`.
    """
    detected = detect_style(existing)
    if detected is not None and detected in printed:
        return detected
    lines = existing.splitlines()

    def distance(style: str) -> tuple[int, bool]:
        ops = difflib.SequenceMatcher(None, lines, printed[style].splitlines(), autojunk=False).get_opcodes()
        changed = sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in ops if tag != "equal")
        return changed, style != DEFAULT_STYLE

    return min(printed, key=distance)


def style_of_file(path: Path | None, default: str = DEFAULT_STYLE) -> str:
    """Return the style of the schema file at ``path``, or ``default`` when absent or undecided."""
    if path is None or not Path(path).is_file():
        return default
    try:
        return detect_style(Path(path).read_text(encoding="utf-8")) or default
    except (OSError, UnicodeDecodeError):
        return default  # not a text file: whoever writes it refuses it, in one line


def resolve_style(style: str, path: Path | None) -> str:
    """Turn ``auto`` into the style of the existing file; pass ``2.2``/``2.3`` through."""
    return style_of_file(path) if style == "auto" else style
