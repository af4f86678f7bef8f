"""``lightnb check``: rehearse every pending migration on a fresh copy, lint it, run the project's tests."""

from __future__ import annotations

import argparse
import sys

from lightnb import steps
from lightnb.cli._common import add_project_options, output_format, project_from_args, show, sql_timeout_option


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``check`` verb's arguments."""
    output_format(parser)
    parser.add_argument("--no-tests", action="store_true", help="skip the project's test command")
    parser.add_argument("--fail-on", choices=steps.check_fail_on(), default="attention",
                        help="exit 1 when a migration needs attention (default) or only when one is unsafe")
    parser.add_argument("--applied", type=int, default=0, metavar="N",
                        help="also prove the latest N applied migrations (reverted, then re-applied, on the copy)")
    sql_timeout_option(parser)
    add_project_options(parser)
    parser.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    # Test output goes to stderr so stdout stays the report (JSON stays parseable).
    result = steps.check(project, database_url=args.database_url, applied=args.applied, run_tests=not args.no_tests,
                         on_output=lambda line: print(line, file=sys.stderr, flush=True))
    show(result, args.format)
    return 1 if result.fails(args.fail_on) else 0
