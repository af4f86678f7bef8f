"""``lightnb setup``: diesel's setup (migrations folder, diesel.toml, database, first run)."""

from __future__ import annotations

import argparse
import os

from lightnb import database
from lightnb.cli._common import add_project_options, project_from_args
from lightnb.cli.migration import announce, wrapped


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``setup`` verb."""
    parser = subparsers.add_parser(
        "setup", help="create the migrations folder, diesel.toml and the database, and run the migrations (as "
                      "diesel; on the workspace when there is one, never on production)")
    parser.add_argument("--no-default-migration", action="store_true",
                        help="accepted for diesel parity (SQLite has no default migration)")
    add_project_options(parser)
    parser.set_defaults(func=_setup)


@wrapped
def _setup(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    shown = args.migration_dir if args.migration_dir is not None else os.environ.get("MIGRATION_DIRECTORY")
    database.setup(project, database_url=args.database_url, config_file=args.config_file, migrations_shown=shown,
                   on_step=announce)
    return 0
