"""Options shared by verbs that act on a project and a database (diesel's global options)."""

from __future__ import annotations

import argparse
import sys

from lightnb.project import Project
from lightnb import steps


def add_project_options(parser: argparse.ArgumentParser) -> None:
    """Add diesel's ``--database-url``, ``--migration-dir``, ``--config-file`` and ``--project``."""
    parser.add_argument("--database-url", metavar="URL",
                        help="database to act on (default: the project's workspace if there is one, "
                             "else DATABASE_URL)")
    parser.add_argument("--migration-dir", metavar="PATH", help="migrations folder (default: from diesel.toml)")
    parser.add_argument("--config-file", metavar="PATH", help="diesel.toml to use")
    parser.add_argument("--project", metavar="DIR", default=".",
                        help="folder inside the Diesel project (default: current folder)")


def project_from_args(args: argparse.Namespace) -> Project:
    """Build the Project the options describe."""
    return Project.discover(args.project, database_url=None, migration_dir=args.migration_dir,
                            config_file=args.config_file)


def target_from_args(args: argparse.Namespace, project: Project, *, write: bool = True) -> steps.Target:
    """Resolve which database the verb acts on, and say so on stderr when it is a workspace.

    :param write: the verb may write it (then the project's production database is refused).
    """
    target = steps.resolve_target(project, database_url=args.database_url, write=write)
    if target.workspace is not None:
        origin = f" of {target.workspace.production}" if target.workspace.production else ""
        print(f"lightnb: working on workspace {target.path}{origin}", file=sys.stderr)
    return target
