"""``lightnb migration generate|run|revert|redo|list|pending``: diesel's verbs, diesel's output."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lightnb import steps
from lightnb.cli._common import (
    DieselArgumentParser,
    LazySubParsers,
    add_global_options,
    add_project_options,
    project_from_args,
    target_from_args,
    u64,
)
from lightnb.errors import MigrationError, SchemaOutOfSync
from lightnb.render import text


class _IntermixedParser(DieselArgumentParser):
    """A parser whose positionals may sit between options, as clap allows
    (``generate NAME -e table_b table_c``), and whose ``--diff-schema`` takes a value only as
    ``--diff-schema=PATH`` (clap's ``require_equals``), so ``--diff-schema NAME`` keeps NAME positional."""

    _mixing = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        args = ["--diff-schema" if a == "--diff-schema=" else a for a in (args or [])]
        args = [x for a in args for x in (["--diff-schema-file", a.split("=", 1)[1]]
                                          if a.startswith("--diff-schema=") else [a])]
        if self._mixing:
            return super().parse_known_args(args, namespace)
        self._mixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._mixing = False


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``migration`` verb's sub-verbs (each one's arguments when the command line reaches it)."""
    add_global_options(parser)  # `lightnb migration --migration-dir D run`, as diesel's own tests write it
    verbs = parser.add_subparsers(dest="migration_command", metavar="VERB", required=True, action=LazySubParsers)
    assert isinstance(verbs, LazySubParsers)
    verbs.add_lazy("generate", _generate_arguments, help="create a migration folder with up.sql and down.sql",
                   parser_class=_IntermixedParser)
    for name, func, about in (("run", _run, "apply every pending migration"),
                              ("revert", _revert, "revert the latest migration(s)"),
                              ("redo", _redo, "revert then re-apply the latest migration(s)")):
        verbs.add_lazy(name, functools.partial(_migrating_arguments, name=name, func=func), help=about)
    verbs.add_lazy("list", functools.partial(_project_arguments, func=_list),
                   help="list migrations, [X] applied, [ ] pending")
    verbs.add_lazy("pending", functools.partial(_project_arguments, func=_pending),
                   help="print true if a migration is pending, else false")


def _generate_arguments(gen: argparse.ArgumentParser) -> None:
    gen.add_argument("name", metavar="MIGRATION_NAME")
    gen.add_argument("table_names", nargs="*", metavar="TABLE_NAME",
                     help="table regexes for --diff-schema, used with -o or -e")
    gen.add_argument("--version", help="explicit version instead of the current timestamp")
    gen.add_argument("-u", "--no-down", action="store_true", help="do not create down.sql")
    gen.add_argument("--format", default="sql", choices=["sql"], help="only sql")
    gen.add_argument("--style", default="2.3", choices=["2.3", "2.2"],
                     help="folder name format: 2.3 (YYYY-MM-DD-HHMMSS-XXXX_name) or 2.2 (YYYY-MM-DD-HHMMSS_name)")
    gen.add_argument("--diff-schema", dest="diff_schema", action="store_const", const="", default=None,
                     help="write up.sql/down.sql from the difference between a schema.rs (--diff-schema=PATH, "
                          "else the `file` of the --schema-key configuration) and the database; a change SQLite "
                          "cannot ALTER is written as a table rebuild, and the pair is proven on a copy")
    gen.add_argument("--diff-schema-file", dest="diff_schema", help=argparse.SUPPRESS)
    gen.add_argument("--sqlite-integer-primary-key-is-bigint", action="store_true",
                     help="with --diff-schema: a lone BigInt primary key is INTEGER (a rowid alias)")
    gen.add_argument("-o", "--only-tables", action="store_true", help="with --diff-schema: only TABLE_NAMEs")
    gen.add_argument("-e", "--except-tables", action="store_true", help="with --diff-schema: all but TABLE_NAMEs")
    gen.add_argument("--schema-key", action="append", metavar="KEY",
                     help="with --diff-schema: the [print_schema.KEY] configuration to use (default: default)")
    gen.add_argument("--no-check", action="store_true",
                     help="with --diff-schema: do not prove the generated pair on a copy")
    add_project_options(gen)
    gen.set_defaults(func=_generate)


def _migrating_arguments(sub: argparse.ArgumentParser, *, name: str,
                         func: Callable[[argparse.Namespace], int]) -> None:
    """The arguments of ``run``, ``revert`` and ``redo``."""
    if name != "run":
        upper = name.upper()
        group = sub.add_mutually_exclusive_group()
        group.add_argument("-a", "--all", action="store_true", help="all applied migrations")
        group.add_argument("-n", "--number", type=u64(f"--number <{upper}_NUMBER>"), default=1,
                           metavar=f"{upper}_NUMBER", help="how many (default 1)")
    sub.add_argument("--no-schema", action="store_true", help="do not regenerate the schema file(s)")
    sub.add_argument("--locked-schema", action="store_true",
                     help="fail instead of changing the schema file(s)")
    sub.add_argument("--style", choices=("auto", "2.1", "2.2", "2.3"),
                     help="diesel output style of the regenerated schema file(s) (default: lightnb.toml's "
                          "[schema] style, else auto = keep the existing file's style)")
    _project_arguments(sub, func=func)


def _project_arguments(sub: argparse.ArgumentParser, *, func: Callable[[argparse.Namespace], int]) -> None:
    add_project_options(sub)
    sub.set_defaults(func=func)


def _generate(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    if args.sqlite_integer_primary_key_is_bigint and args.diff_schema is None:
        _usage_error(args, "the following required arguments were not provided:\n  --diff-schema[=<SCHEMA_RS>]")
    if args.diff_schema is None:
        result = steps.generate(project, args.name, version=args.version, style=args.style, no_down=args.no_down)
        print(text.generate_result(result, relative_to=Path.cwd()))
        return 0
    target = target_from_args(args, project, write=False)
    result = steps.generate_from_schema(
        project, args.name, database=target.database, schema_rs=args.diff_schema or None,
        schema_key=(args.schema_key or [None])[0], table_names=tuple(args.table_names),
        only_tables=args.only_tables, except_tables=args.except_tables,
        integer_primary_key_is_bigint=args.sqlite_integer_primary_key_is_bigint, version=args.version,
        style=args.style, no_down=args.no_down, prove=not args.no_check)
    print(text.generate_result(result.generated, relative_to=Path.cwd()))
    for line in result.report_lines():
        print(f"lightnb: {line}", file=sys.stderr)
    return 0


def _usage_error(args: argparse.Namespace, message: str) -> None:
    """Refuse a combination of options as clap does: ``error: …`` on stderr, exit status 2."""
    sys.stderr.write(f"error: {message}\n\nFor more information, try '--help'.\n")
    raise SystemExit(2)


def _announce(event: steps.StepEvent) -> None:
    """Print diesel's progress lines: before a migration runs, not after; never for diesel's
    initial-setup migration ``00000000000000`` (diesel_migrations migration_harness.rs)."""
    if event.kind != "migration" or event.migration.version == steps.INITIAL_SETUP_VERSION:
        return
    verb = "Running" if event.direction == "up" else "Rolling back"
    print(f"{verb} migration {event.migration.name}", flush=True)


def announce(event: steps.StepEvent) -> None:
    """Print diesel's progress line for ``event`` (shared by ``setup`` and ``database``)."""
    _announce(event)


def wrapped(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
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


_wrapped = wrapped
# The runner reads it: only migrations are announced, so a migration may run as one call.
_announce.statements = False  # type: ignore[attr-defined]  # a flag the runner reads
announce.statements = False  # type: ignore[attr-defined]  # a flag the runner reads


@_wrapped
def _run(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    target = target_from_args(args, project)
    steps.require_migrations_dir(project)
    steps.run(project, target.database, on_step=_announce, regenerate_schema=not args.no_schema,
              locked_schema=args.locked_schema, style=args.style)
    return 0


@_wrapped
def _revert(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    target = target_from_args(args, project)
    steps.require_migrations_dir(project)
    steps.revert(project, target.database, number=args.number, all=args.all, on_step=_announce,
                 regenerate_schema=not args.no_schema, locked_schema=args.locked_schema, style=args.style)
    return 0


@_wrapped
def _redo(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    target = target_from_args(args, project)
    steps.require_migrations_dir(project)
    steps.redo(project, target.database, number=args.number, all=args.all, on_step=_announce,
               regenerate_schema=not args.no_schema, locked_schema=args.locked_schema, style=args.style)
    return 0


@_wrapped
def _list(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    target = target_from_args(args, project, write=False)
    steps.require_migrations_dir(project)
    result = steps.list_migrations(project, target.database)
    if target.url is None:
        _note_missing(target.path)
    print(text.list_result(result))
    for version in result.applied_missing_on_disk:
        print(f"lightnb: version {version} is applied but has no folder in {project.migrations_dir}",
              file=sys.stderr)
    return 0


@_wrapped
def _pending(args: argparse.Namespace) -> int:
    project = project_from_args(args)
    target = target_from_args(args, project, write=False)
    steps.require_migrations_dir(project)
    pending = steps.list_migrations(project, target.database).pending
    if target.url is None:
        _note_missing(target.path)
    print("true" if pending else "false")
    return 0


def _note_missing(database: Path) -> None:
    """Say on stderr that the database is absent (stdout stays diesel's: every migration pending)."""
    if str(database) != ":memory:" and not os.path.lexists(database):
        print(f"lightnb: database {database} does not exist (not created): nothing is applied there",
              file=sys.stderr)
