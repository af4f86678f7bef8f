"""Tell which diesel_cli style (2.2 or 2.3) printed an existing ``schema.rs``.

The visible differences (diesel_spec.md §7): 2.3 runs rustfmt, which puts a short
``allow_tables_to_appear_in_same_query!`` on one line (2.2 always writes one table per line) and
drops the blank line of an empty schema; 2.3.10+ writes raw strings in ``#[sql_name]`` when a name
holds a quote, and renames a column named ``table``.
"""

from __future__ import annotations

from pathlib import Path

from lightnb.schema import layout
from lightnb.schema.config import DEFAULT_STYLE
from lightnb.schema.print_schema import HEADER
from lightnb.schema.reader import read_schema


def detect_style(text: str) -> str | None:
    """Return ``"2.2"`` or ``"2.3"`` when the text shows which diesel printed it, else None."""
    if text == HEADER + "\n":
        return "2.2"
    if text == HEADER:
        return "2.3"
    votes = set()
    schema = read_schema(text)
    for group in schema.groups:
        as_22 = layout.allow_tables_vertical(group.names).rstrip("\n")
        as_23 = layout.allow_tables_rustfmt(group.names).rstrip("\n")
        if group.text == as_23 and group.text != as_22:
            votes.add("2.3")
        elif group.text == as_22 and group.text != as_23:
            votes.add("2.2")
    for table in schema.tables:
        for column in table.columns:
            if '"' in column.sql_name or column.sql_name == "table" and column.rust_name == "table_":
                votes.add("2.3")
    return votes.pop() if len(votes) == 1 else None


def style_of_file(path: Path | None, default: str = DEFAULT_STYLE) -> str:
    """Return the style of the schema file at ``path``, or ``default`` when absent or undecided."""
    if path is None or not Path(path).is_file():
        return default
    return detect_style(Path(path).read_text(encoding="utf-8")) or default


def resolve_style(style: str, path: Path | None) -> str:
    """Turn ``auto`` into the style of the existing file; pass ``2.2``/``2.3`` through."""
    return style_of_file(path) if style == "auto" else style
