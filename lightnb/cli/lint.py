"""``lightnb lint [VERSION...]``: the team's rules and SQLite's limits over migrations; exit 1 on errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lightnb import steps
from lightnb.cli._common import add_project_options, project_from_args
from lightnb.errors import ProjectError
from lightnb.lint import config_from_settings, has_errors, lint_project, load_rules
from lightnb.lint.finding import Finding
from lightnb.migrations import version_of
from lightnb.project import Project


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``lint`` verb; its help lists every rule id with its one-line summary."""
    parser = subparsers.add_parser("lint", help="check migrations against the team's rules and SQLite's limits",
                                   epilog=rules_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("versions", nargs="*", metavar="VERSION",
                        help="migration versions or folder names to lint (default: all)")
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
    config = config_from_settings(project.settings)
    findings = lint_project(project.migrations_dir, versions=versions, config=config,
                            database=_database(project, args.database_url))
    print(render(findings, args.format))
    return 1 if has_errors(findings) else 0


def _database(project: Project, database_url: str | None) -> Path | None:
    """Return the database lint measures against: --database-url, else the workspace, else DATABASE_URL.

    None when the project names no database, or the configured one does not exist yet (an
    explicit --database-url must exist). It is only read; impact is measured on a throwaway copy.
    """
    try:
        target = steps.resolve_target(project, database_url=database_url, write=False)
    except ProjectError:
        if database_url:
            raise
        return None
    return target.path if database_url or target.path.is_file() else None


def render(findings: list[Finding], fmt: str) -> str:
    """Return findings as text (one per line, fix indented) or JSON."""
    if fmt == "json":
        return json.dumps([f.to_dict() for f in findings], indent=2)
    lines = []
    for f in findings:
        lines.append(f"{f.severity}[{f.rule}] {f.location()}: {f.message}")
        lines += [f"    {line}" for line in f.fix.splitlines()[:1]] if f.fix else []
    errors = sum(f.severity == "error" for f in findings)
    lines.append(f"{len(findings)} finding(s), {errors} error(s)")
    return "\n".join(lines)


