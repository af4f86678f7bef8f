"""``lightnb database setup|reset|drop`` (alias ``db``): diesel's verbs, guarded like ``migration run``."""

from __future__ import annotations

import argparse

from lightnb import steps
from lightnb.cli._common import add_global_options, add_project_options, project_from_args
from lightnb.cli.migration import announce, wrapped


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``database`` verb's sub-verbs."""
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
                             help="do not write diesel's initial-setup migration (PostgreSQL; SQLite has none)")
            sub.add_argument("--locked-schema", action="store_true",
                             help="fail instead of changing the schema file(s)")
        add_project_options(sub)
        sub.set_defaults(func=func)


@wrapped
def _setup(args: argparse.Namespace) -> int:
    steps.database_setup(project_from_args(args), database_url=args.database_url, on_step=announce,
                         locked_schema=args.locked_schema, default_migration=not args.no_default_migration)
    return 0


@wrapped
def _reset(args: argparse.Namespace) -> int:
    steps.database_reset(project_from_args(args), database_url=args.database_url, on_step=announce,
                         locked_schema=args.locked_schema, default_migration=not args.no_default_migration)
    return 0


@wrapped
def _drop(args: argparse.Namespace) -> int:
    steps.database_drop(project_from_args(args), database_url=args.database_url)
    return 0
