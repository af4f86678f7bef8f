"""``lightnb setup``: diesel's setup (migrations folder, diesel.toml, database, first run)."""

from __future__ import annotations

import argparse
import os

from lightnb import steps
from lightnb.cli._common import add_project_options, project_from_args
from lightnb.cli.migration import announce, wrapped


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``setup`` verb's arguments."""
    parser.add_argument("--no-default-migration", action="store_true",
                        help="do not write diesel's initial-setup migration (PostgreSQL; SQLite has none)")
    add_project_options(parser)
    parser.set_defaults(func=_setup)


@wrapped
def _setup(args: argparse.Namespace) -> int:
    shown = args.migration_dir if args.migration_dir is not None else os.environ.get("MIGRATION_DIRECTORY")
    steps.setup(project_from_args(args), database_url=args.database_url, config_file=args.config_file,
                migrations_shown=shown, on_step=announce,
                default_migration=not args.no_default_migration)
    return 0
