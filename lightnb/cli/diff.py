"""``lightnb diff BEFORE.db AFTER.db``: row and schema differences of two database files.

Both files are opened read-only (``mode=ro``); neither is ever written.
"""

from __future__ import annotations

import argparse
import sys

from lightnb import steps
from lightnb.cli._common import output_format, redacting_project, show


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``diff`` verb's arguments."""
    parser.description = ("Compare the rows and schema of two SQLite databases, keyed by primary key "
                          "(or rowid). Both files are opened read-only. Sensitive values are masked.")
    parser.add_argument("before", metavar="BEFORE.db", help="the earlier database")
    parser.add_argument("after", metavar="AFTER.db", help="the later database")
    output_format(parser)
    parser.add_argument("--table", action="append", metavar="NAME", help="only this table (repeatable)")
    parser.add_argument("--sample", type=_row_count, default=5, metavar="N",
                        help="sample rows per table and kind (default 5)")
    parser.add_argument("--reveal", action="store_true",
                        help="show sensitive values unmasked (do not save or share this output)")
    parser.add_argument("--project", metavar="DIR", default=".",
                        help="Diesel project whose lightnb.toml [redact] settings apply (default: current folder)")
    parser.set_defaults(func=_diff)


def _row_count(text: str) -> int:
    """A number of sample rows: 0 or more (a negative or non-number is a usage error, never clamped)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid value '{text}' for '--sample <N>': the number of sample rows "
                                         f"to show, 0 or more")
    return value


def _diff(args: argparse.Namespace) -> int:
    result = steps.diff(redacting_project(args.project), args.before, args.after, tables=args.table,
                        sample=args.sample, reveal=args.reveal)
    if args.reveal:
        print("lightnb: --reveal shows sensitive values; do not save or share this output.", file=sys.stderr)
    show(result, args.format)
    return 0
