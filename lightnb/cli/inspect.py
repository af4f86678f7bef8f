"""``lightnb inspect [DATABASE]``: a snapshot of a database, or a bounded preview of one table.

The database is opened read-only; sensitive values are masked unless ``--reveal``.
"""

from __future__ import annotations

import argparse
import sys

from lightnb import steps
from lightnb.cli._common import output_format, redacting_project, show


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``inspect`` verb's arguments."""
    parser.description = ("Without --table: one line per table (rows, columns, fingerprint). With --table "
                          "(or a SELECT): a bounded preview. Read-only; sensitive values are masked.")
    parser.add_argument("database", nargs="?", metavar="DATABASE",
                        help="database file (default: the project's database)")
    parser.add_argument("--table", metavar="NAME_OR_SELECT", help="table name or SELECT to preview")
    parser.add_argument("--mode", choices=steps.preview_modes(), default="head", help="which rows to preview")
    parser.add_argument("-n", type=int, default=20, help="rows to preview (default 20)")
    parser.add_argument("--where", metavar="CONDITION", help="SQL condition filtering the preview")
    parser.add_argument("--no-fingerprint", action="store_true", help="skip content fingerprints")
    output_format(parser)
    parser.add_argument("--reveal", action="store_true",
                        help="show sensitive values unmasked (do not save or share this output)")
    parser.add_argument("--project", metavar="DIR", default=".", help="Diesel project folder")
    parser.set_defaults(func=_inspect)


def _inspect(args: argparse.Namespace) -> int:
    result = steps.inspect_database(redacting_project(args.project), args.database, table=args.table,
                                    mode=args.mode, rows=args.n, where=args.where,
                                    fingerprint=not args.no_fingerprint, reveal=args.reveal)
    show(result, args.format)
    if args.reveal:
        print("lightnb: --reveal shows sensitive values; do not save or share this output.", file=sys.stderr)
    return 0
