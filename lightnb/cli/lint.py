"""``lightnb lint [VERSION...]``: the team's rules and SQLite's limits over migrations; exit 1 on errors.

Bare ``lint`` lints the pending migrations (and checks the checksums of the applied ones);
``--all`` lints the whole history.
"""

from __future__ import annotations

import argparse

from lightnb import steps
from lightnb.cli._common import add_project_options, output_format, project_from_args, show, sql_timeout_option


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``lint`` verb's arguments; its help lists every rule id with its one-line summary."""
    parser.epilog = rules_help()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("versions", nargs="*", metavar="VERSION",
                        help="migration versions or folder names to lint (default: the pending ones)")
    parser.add_argument("--all", action="store_true", help="lint every migration of the history, applied or not")
    output_format(parser)
    sql_timeout_option(parser)
    add_project_options(parser)
    parser.set_defaults(func=_lint)


def rules_help() -> str:
    """Return the rule ids and summaries, one per line, for ``lightnb lint --help``."""
    rules = steps.lint_rules()
    width = max(len(rule) for rule, _summary, _severity in rules)
    lines = [f"  {rule:<{width}}  {summary} [{severity}]" for rule, summary, severity in rules]
    return ("rules (turn off with `disable = [\"id\"]`, or change a severity, in lightnb.toml's [lint]):\n"
            + "\n".join(lines))


def _lint(args: argparse.Namespace) -> int:
    result = steps.lint_report(project_from_args(args), versions=args.versions, database_url=args.database_url,
                               all=args.all)
    show(result, args.format)
    return 1 if result.has_errors else 0
