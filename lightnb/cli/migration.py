"""``lightnb migration generate|run|revert|redo|list|pending``: diesel's verbs, diesel's output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lightnb import steps
from lightnb.cli._common import add_project_options, project_from_args, target_from_args
from lightnb.errors import LightnbError, MigrationError, SchemaOutOfSync
from lightnb.render import text
from lightnb.runner import INITIAL_SETUP_VERSION, StepEvent


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``migration`` verb and its sub-verbs."""
    parser = subparsers.add_parser("migration", help="generate, run, revert, redo, list migrations (as diesel)")
    verbs = parser.add_subparsers(dest="migration_command", metavar="VERB", required=True)

    gen = verbs.add_parser("generate", help="create a migration folder with up.sql and down.sql")
    gen.add_argument("name", metavar="MIGRATION_NAME")
    gen.add_argument("--version", help="explicit version instead of the current timestamp")
    gen.add_argument("-u", "--no-down", action="store_true", help="do not create down.sql")
    gen.add_argument("--format", default="sql", choices=["sql"], help="only sql")
    gen.add_argument("--style", default="2.3", choices=["2.3", "2.2"],
                     help="folder name format: 2.3 (YYYY-MM-DD-HHMMSS-XXXX_name) or 2.2 (YYYY-MM-DD-HHMMSS_name)")
    add_project_options(gen)
    gen.set_defaults(func=_generate)

    for name, func, text in (("run", _run, "apply every pending migration"),
                             ("revert", _revert, "revert the latest migration(s)"),
                             ("redo", _redo, "revert then re-apply the latest migration(s)")):
        sub = verbs.add_parser(name, help=text)
        if name != "run":
            group = sub.add_mutually_exclusive_group()
            group.add_argument("-a", "--all", action="store_true", help="all applied migrations")
            group.add_argument("-n", "--number", type=int, default=1, metavar="N", help="how many (default 1)")
        sub.add_argument("--no-schema", action="store_true", help="do not regenerate the schema file(s)")
        sub.add_argument("--locked-schema", action="store_true",
                         help="fail instead of changing the schema file(s)")
        sub.add_argument("--style", choices=("auto", "2.1", "2.2", "2.3"),
                         help="diesel output style of the regenerated schema file(s) (default: lightnb.toml's "
                              "[schema] style, else auto = keep the existing file's style)")
        add_project_options(sub)
        sub.set_defaults(func=func)

    lst = verbs.add_parser("list", help="list migrations, [X] applied, [ ] pending")
    add_project_options(lst)
    lst.set_defaults(func=_list)
    pend = verbs.add_parser("pending", help="print true if a migration is pending, else false")
    add_project_options(pend)
    pend.set_defaults(func=_pending)


def _generate(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    result = steps.generate(project, args.name, version=args.version, style=args.style, no_down=args.no_down)
    print(text.generate_result(result, relative_to=Path.cwd()))
    return 0


def _announce(event: StepEvent) -> None:
    """Print diesel's progress lines: before a migration runs, not after."""
    if event.kind != "migration":
        return
    if event.direction == "up":
        if event.migration.version != INITIAL_SETUP_VERSION:
            print(f"Running migration {event.migration.name}", flush=True)
    else:
        print(f"Rolling back migration {event.migration.name}", flush=True)


def _wrapped(func):  # type: ignore[no-untyped-def]
    """Prefix migration failures the way diesel does (``Failed to run migrations: …``)."""
    def call(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except SchemaOutOfSync as error:
            sys.stdout.write(error.diff)  # diesel prints the diff on stdout, the error on stderr (§2.9)
            raise
        except MigrationError as error:
            raise type(error)(f"Failed to run migrations: {error}", path=error.path,
                              version=error.version, line=error.line) from error
    return call


_announce.statements = False  # type: ignore[attr-defined]  # only migrations are announced


@_wrapped
def _run(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    target = target_from_args(args, project)
    steps.run(project, target.path, on_step=_announce, regenerate_schema=not args.no_schema,
              locked_schema=args.locked_schema, style=args.style)
    return 0


@_wrapped
def _revert(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    target = target_from_args(args, project)
    _check_number(args.number)
    steps.revert(project, target.path, number=args.number, all=args.all, on_step=_announce,
                 regenerate_schema=not args.no_schema, locked_schema=args.locked_schema, style=args.style)
    return 0


@_wrapped
def _redo(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    target = target_from_args(args, project)
    _check_number(args.number)
    steps.redo(project, target.path, number=args.number, all=args.all, on_step=_announce,
               regenerate_schema=not args.no_schema, locked_schema=args.locked_schema, style=args.style)
    return 0


def _check_number(number: int) -> None:
    if number < 0:
        raise LightnbError(f"--number must be 0 or more, not {number}; pass a count such as -n 1, or --all.")


@_wrapped
def _list(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    target = target_from_args(args, project, write=False)
    result = steps.list_migrations(project, target.path)
    print(text.list_result(result))
    for version in result.applied_missing_on_disk:
        print(f"lightnb: version {version} is applied but has no folder in {project.migrations_dir}",
              file=sys.stderr)
    return 0


@_wrapped
def _pending(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    target = target_from_args(args, project, write=False)
    print("true" if steps.list_migrations(project, target.path).pending else "false")
    return 0
