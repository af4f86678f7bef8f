"""``lightnb database setup|reset|drop`` (alias ``db``): diesel's verbs, guarded like ``migration run``."""

from __future__ import annotations

import argparse

from lightnb import database
from lightnb.cli._common import add_global_options, add_project_options, project_from_args
from lightnb.cli.migration import announce, wrapped


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``database`` verb (alias ``db``) and its sub-verbs."""
    parser = subparsers.add_parser(
        "database", aliases=["db"],
        help="set up, reset or drop the database (as diesel; on the workspace when there is one, never on "
             "production)")
    add_global_options(parser)
    verbs = parser.add_subparsers(dest="database_command", metavar="VERB", required=True)
    for name, func, about in (
            ("setup", _setup, "create the database if needed and run every migration on a new one, then "
                              "regenerate the schema file(s)"),
            ("reset", _reset, "drop the database, then `database setup`"),
            ("drop", _drop, "delete the database file")):
        sub = verbs.add_parser(name, help=about)
        if name != "drop":
            sub.add_argument("--no-default-migration", action="store_true",
                             help="accepted for diesel parity (SQLite has no default migration)")
            sub.add_argument("--locked-schema", action="store_true",
                             help="fail instead of changing the schema file(s)")
        add_project_options(sub)
        sub.set_defaults(func=func)


@wrapped
def _setup(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    database.database_setup(project, database_url=args.database_url, on_step=announce,
                            locked_schema=args.locked_schema)
    return 0


@wrapped
def _reset(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    database.database_reset(project, database_url=args.database_url, on_step=announce,
                            locked_schema=args.locked_schema)
    return 0


@wrapped
def _drop(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    database.database_drop(project, database_url=args.database_url)
    return 0
