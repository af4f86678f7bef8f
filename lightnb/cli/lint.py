"""``lightnb lint [VERSION...]``: the team's rules and SQLite's limits over migrations; exit 1 on errors.

Bare ``lint`` lints the pending migrations (and checks the checksums of the applied ones);
``--all`` lints the whole history.
"""

from __future__ import annotations

import argparse
import json

from lightnb import steps
from lightnb.cli._common import add_project_options, project_from_args
from lightnb.lint import config_from_settings, has_errors, load_rules
from lightnb.lint.engine import lint_scope
from lightnb.migrations import version_of
from lightnb.render import text


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``lint`` verb; its help lists every rule id with its one-line summary."""
    parser = subparsers.add_parser("lint", help="check migrations against the team's rules and SQLite's limits",
                                   epilog=rules_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("versions", nargs="*", metavar="VERSION",
                        help="migration versions or folder names to lint (default: the pending ones)")
    parser.add_argument("--all", action="store_true", help="lint every migration of the history, applied or not")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    add_project_options(parser)
    parser.set_defaults(func=_lint)


def rules_help() -> str:
    """Return the rule ids and summaries, one per line, for ``lightnb lint --help``."""
    rules = sorted(load_rules().values(), key=lambda r: r.id)
    width = max(len(r.id) for r in rules)
    lines = [f"  {r.id:<{width}}  {r.summary} [{r.severity}]" for r in rules]
    return ("rules (turn off with `disable = [\"id\"]`, or change a severity, in lightnb.toml's [lint]):\n"
            + "\n".join(lines))


def _lint(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    versions = [version_of(v) for v in args.versions] or None
    database = steps.lint_database(project, args.database_url)
    findings = steps.lint(project, versions=versions, database=database, all=args.all)
    if args.format == "json":
        print(json.dumps([f.to_dict() for f in findings], indent=2))
    else:
        if versions is None:
            print(lint_scope(project.migrations_dir, database, all=args.all,
                             config=config_from_settings(project.settings)))
        print(text.findings(findings))
    return 1 if has_errors(findings) else 0
