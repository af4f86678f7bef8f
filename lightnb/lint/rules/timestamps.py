"""Timestamps are INTEGER Unix seconds (the team's rule): flag text, DATETIME and friends."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from lightnb.lint.columns import affinity, defined_columns, name_words, parse_default
from lightnb.lint.registry import Hit, MigrationContext, rule
from lightnb.lint.source import token_line

TIME_TYPES = ("DATETIME", "TIMESTAMP", "DATE", "TIME")
TIME_WORDS = {"date", "time", "timestamp", "datetime", "ts"}
TEXT_TIME_FUNCTIONS = {"datetime", "date", "time", "julianday"}
TEXT_TIME_NODES = (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime, exp.CurrentDatetime)


@rule("timestamp-text", severity="error",
      summary="A timestamp-like column must be INTEGER Unix seconds (not TEXT, DATETIME or a text default).")
def timestamp_text(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag timestamp-like columns that do not store INTEGER Unix seconds."""
    for found in defined_columns(ctx):
        column = found.column
        reason = _why_not_unix_seconds(column.name, column.type, parse_default(column.default))
        if reason:
            yield Hit("up.sql", token_line(found.statement, column.name),
                      f"{found.table}.{column.name} is a timestamp {reason}; store INTEGER Unix seconds",
                      f"declare it `{column.name} INTEGER{' NOT NULL' if column.notnull else ''}"
                      f"{' DEFAULT (unixepoch())' if column.default else ''}` and convert in Rust with "
                      f"chrono::DateTime::from_timestamp(secs, 0)")


def _why_not_unix_seconds(name: str, declared: str, default: exp.Expr | None) -> str:
    text_default = default is not None and _is_text_time(default)
    type_words = declared.upper().replace("(", " ").split()
    time_typed = any(word in TIME_TYPES for word in type_words)
    if not (time_typed or text_default or is_timestamp_name(name)):
        return ""
    if affinity(declared) != "INTEGER" or time_typed:
        return f"declared {declared or 'without a type'}"
    if text_default and default is not None:
        return f"whose default {default.sql('sqlite')} stores text"
    return ""


def is_timestamp_name(name: str) -> bool:
    """Return True when a column name reads like a timestamp (created_at, due_on, start_time, ts …)."""
    words = name_words(name)
    return bool(words) and (words[-1] in ("at", "on") and len(words) > 1 or any(w in TIME_WORDS for w in words))


def _is_text_time(default: exp.Expr) -> bool:
    """Return True for defaults that produce date/time text (CURRENT_TIMESTAMP, datetime('now') …)."""
    for node in default.walk():
        if isinstance(node, TEXT_TIME_NODES):
            return True
        if isinstance(node, exp.Anonymous) and node.name.lower() in TEXT_TIME_FUNCTIONS:
            return True
        if isinstance(node, exp.TimeToStr):  # strftime: only '%s' yields Unix seconds
            fmt = node.args.get("format")
            if not (isinstance(fmt, exp.Literal) and fmt.this.strip() == "%s"):
                return True
    return False
