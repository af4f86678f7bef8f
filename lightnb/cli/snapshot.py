"""``lightnb snapshot``: make, reset or discard the project's workspace copy of production."""

from __future__ import annotations

import argparse

from lightnb import steps
from lightnb.cli._common import add_project_options, project_from_args
from lightnb.errors import WorkspaceError


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``snapshot`` verb's arguments."""
    parser.description = ("Copy production (only ever read) into the project's workspace. --reset copies it again "
                          "over the workspace; with --database-url OTHER.db it copies OTHER.db instead, which "
                          "becomes the workspace's production from then on. --discard deletes only what lightnb "
                          "made there.")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--reset", action="store_true",
                        help="copy production again over the workspace (with --database-url: copy that database "
                             "instead, and keep it as the workspace's production)")
    action.add_argument("--discard", action="store_true",
                        help="delete the workspace's files (the folder too, when lightnb created it and nothing "
                             "else is in it)")
    action.add_argument("--status", action="store_true",
                        help="print where the workspace is and whether it is still a copy of production")
    parser.add_argument("--verify", action="store_true",
                        help="check the copy with SQLite's quick_check (reads every page) and refuse a corrupt "
                             "production")
    parser.add_argument("--workspace-dir", metavar="DIR",
                        help="workspace folder (default: .lightnb/ beside diesel.toml); never the project folder, "
                             "one above it, or one holding production")
    add_project_options(parser)
    parser.set_defaults(func=_snapshot)


def _snapshot(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    folder = args.workspace_dir or steps.workspace_folder(project)
    if (args.discard or args.status) and args.database_url:
        flag = "--discard" if args.discard else "--status"
        raise WorkspaceError(f"--database-url has no meaning with {flag}; drop it (to copy another database into "
                             f"the workspace, use --reset --database-url OTHER.db).")
    if (args.discard or args.status) and steps.postgres_workspace(project, folder=folder):
        if args.discard:
            print(steps.discard_postgres(project, folder=folder))
        else:
            print(steps.snapshot_status_postgres(project, folder=folder))
        return 0
    if args.discard:
        print(steps.discard(project, folder=folder))
        return 0
    if args.status:
        print(steps.workspace_status(project, folder=folder))
        return 0
    if args.database_url and steps.is_postgres_url(args.database_url):  # PostgreSQL: the private cluster's base
        print(steps.snapshot_postgres(project, args.database_url, folder=args.workspace_dir).to_text())
        return 0
    if args.reset:
        before = steps.open_workspace(project, folder=folder).production
        workspace = steps.reset(project, folder=folder, database_url=args.database_url, verify=args.verify)
        changed = f" (it was a copy of {before})" if before is not None and before != workspace.production else ""
        print(f"Reset workspace {workspace.path} from {workspace.production}{changed}")
        return 0
    workspace = steps.snapshot(project, database_url=args.database_url, folder=folder, verify=args.verify)
    print(f"Copied {workspace.production} to workspace {workspace.path}")
    return 0
