"""``lightnb lint [VERSION...]``: the team's rules and SQLite's limits over migrations; exit 1 on errors."""

from __future__ import annotations

import argparse
import json
import sqlite3

from lightnb.cli._common import add_project_options, project_from_args
from lightnb.errors import LightnbError
from lightnb.lint import config_from_settings, has_errors, lint_project
from lightnb.lint.finding import Finding
from lightnb.migrations import version_of
from lightnb.workspace import open_readonly


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``lint`` verb."""
    parser = subparsers.add_parser("lint", help="check migrations against the team's rules and SQLite's limits")
    parser.add_argument("versions", nargs="*", metavar="VERSION",
                        help="migration versions or folder names to lint (default: all)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    add_project_options(parser)
    parser.set_defaults(func=_lint)


def _lint(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    versions = [version_of(v) for v in args.versions] or None
    conn = _database(project, args.database_url)
    try:
        findings = lint_project(project.migrations_dir, versions=versions,
                                config=config_from_settings(project.settings), conn=conn)
    finally:
        if conn is not None:
            conn.close()
    print(render(findings, args.format))
    return 1 if has_errors(findings) else 0


def _database(project, database_url: str | None) -> sqlite3.Connection | None:  # type: ignore[no-untyped-def]
    """Open the database read-only for the hygiene rules, when one is given or configured."""
    try:
        path = (project.with_database(database_url) if database_url else project).database_path()
    except LightnbError:
        return None
    if not path.is_file():
        return None
    return open_readonly(path)


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


