"""``lightnb check``: rehearse every pending migration on a fresh copy, lint it, run the project's tests."""

from __future__ import annotations

import argparse
import json
import sys

from lightnb import steps
from lightnb.checks import FAIL_ON
from lightnb.cli._common import add_project_options, project_from_args
from lightnb.errors import LightnbError, ProjectError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``check`` verb."""
    parser = subparsers.add_parser(
        "check", help="rehearse pending migrations on a copy (up, down, up), lint them, run the project's "
                      "tests; exit 1 unless every migration is safe")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument("--no-tests", action="store_true", help="skip the project's test command")
    parser.add_argument("--fail-on", choices=FAIL_ON, default="attention",
                        help="exit 1 when a migration needs attention (default) or only when one is unsafe")
    parser.add_argument("--applied", type=int, default=0, metavar="N",
                        help="also prove the latest N applied migrations (reverted, then re-applied, on the copy)")
    add_project_options(parser)
    parser.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    # Test output goes to stderr so stdout stays the report (JSON stays parseable).
    if args.applied < 0:
        raise LightnbError(f"--applied must be 0 or more, not {args.applied}.")
    try:
        database = steps.resolve_target(project, database_url=args.database_url, write=False).path
    except ProjectError:
        database = None  # no database anywhere: rehearse on an empty one
    result = steps.test(project, database, applied=args.applied, run_tests=not args.no_tests,
                        on_output=lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps(result.to_dict(), indent=2, default=str) if args.format == "json" else result.to_text())
    return 1 if result.fails(args.fail_on) else 0
