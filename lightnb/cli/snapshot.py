"""``lightnb snapshot``: make, reset or discard the project's workspace copy of production."""

from __future__ import annotations

import argparse

from lightnb import steps
from lightnb.cli._common import add_project_options, project_from_args
from lightnb.errors import WorkspaceError
from lightnb.workspace import Workspace


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``snapshot`` verb."""
    parser = subparsers.add_parser(
        "snapshot", help="copy production (read-only) into the project's workspace, or reset/discard it")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--reset", action="store_true", help="copy production again over the workspace")
    action.add_argument("--discard", action="store_true", help="delete the workspace")
    action.add_argument("--status", action="store_true",
                        help="print where the workspace is and whether it is still a copy of production")
    parser.add_argument("--verify", action="store_true",
                        help="check the copy with SQLite's quick_check (reads every page) and refuse a corrupt "
                             "production")
    parser.add_argument("--workspace-dir", metavar="DIR", help="workspace folder (default: .lightnb/ "
                                                                 "beside diesel.toml)")
    add_project_options(parser)
    parser.set_defaults(func=_snapshot)


def _snapshot(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    folder = args.workspace_dir or steps.workspace_folder(project)
    if args.discard or args.status or args.reset:
        workspace = Workspace.open(folder)
        if args.discard:
            workspace.discard()
            print(f"Discarded workspace {workspace.folder}")
        elif args.status:
            from lightnb.inspect.divergence import compare_with_production
            print(f"Workspace {workspace.path} (copy of {workspace.production or 'an empty database'})")
            print(compare_with_production(workspace.path, workspace.production).to_text())
        else:
            if workspace.production is None and not args.database_url:
                raise WorkspaceError("This workspace has no production database to copy; pass --database-url.")
            workspace.reset(verify=args.verify)
            print(f"Reset workspace {workspace.path} from {workspace.production}")
        return 0
    workspace = steps.snapshot(project, database_url=args.database_url, folder=folder, verify=args.verify)
    print(f"Copied {workspace.production} to workspace {workspace.path}")
    return 0

