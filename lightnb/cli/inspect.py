"""``lightnb inspect [DATABASE]``: a snapshot of a database, or a bounded preview of one table.

The database is opened read-only; sensitive values are masked unless ``--reveal``.
"""

from __future__ import annotations

import argparse
import json
import sys

from lightnb.backends import sqlite
from lightnb.errors import ProjectError
from lightnb.inspect.preview import MODES, preview
from lightnb.inspect.snapshot import take_snapshot


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``inspect`` verb."""
    parser = subparsers.add_parser(
        "inspect", help="summarise a database (tables, rows, fingerprints) or preview a table",
        description="Without --table: one line per table (rows, columns, fingerprint). With --table "
                    "(or a SELECT): a bounded preview. Read-only; sensitive values are masked.")
    parser.add_argument("database", nargs="?", metavar="DATABASE",
                        help="database file (default: the project's database)")
    parser.add_argument("--table", metavar="NAME_OR_SELECT", help="table name or SELECT to preview")
    parser.add_argument("--mode", choices=MODES, default="head", help="which rows to preview")
    parser.add_argument("-n", type=int, default=20, help="rows to preview (default 20)")
    parser.add_argument("--where", metavar="CONDITION", help="SQL condition filtering the preview")
    parser.add_argument("--no-fingerprint", action="store_true", help="skip content fingerprints")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument("--reveal", action="store_true",
                        help="show sensitive values unmasked (do not save or share this output)")
    parser.add_argument("--project", metavar="DIR", default=".", help="Diesel project folder")
    parser.set_defaults(func=_inspect)


def _inspect(args: argparse.Namespace) -> int:
    from lightnb.cli.diff import redactor_for

    database = args.database or _project_database(args.project)
    conn = sqlite.open_readonly(database)
    try:
        if args.table:
            result = preview(conn, args.table, mode=args.mode, n=args.n, where=args.where,
                             redactor=redactor_for(args.project), reveal=args.reveal)
            if args.format == "json":
                records = json.loads(result.frame.to_json(orient="records", default_handler=str))
                print(json.dumps({"source": result.source, "mode": result.mode, "truncated": result.truncated,
                                  "note": result.note, "rows": records}, indent=2, ensure_ascii=False))
            else:
                print(result.to_text())
        else:
            snap = take_snapshot(conn, label=str(database), fingerprint=not args.no_fingerprint,
                                 shown_fingerprints=True, exact_fingerprints=False,
                                 redactor=redactor_for(args.project))
            print(json.dumps(snap.to_dict(), indent=2) if args.format == "json" else snap.to_text())
    finally:
        conn.close()
    if args.reveal:
        print("lightnb: --reveal shows sensitive values; do not save or share this output.", file=sys.stderr)
    return 0


def _project_database(project_dir: str) -> str:
    """The database the project's verbs act on (its workspace, else DATABASE_URL), only read here."""
    from lightnb import steps
    from lightnb.project import Project

    try:
        return str(steps.resolve_target(Project.discover(project_dir), write=False).path)
    except ProjectError as error:
        raise ProjectError("No database given, and the project has no workspace or DATABASE_URL; pass "
                           "DATABASE.") from error
