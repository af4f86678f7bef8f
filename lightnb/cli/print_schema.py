"""``lightnb print-schema``: diesel's print-schema (same flags, same bytes), plus ``--check``.

Options after a ``--schema-key KEY`` apply to that configuration only, as in diesel
(diesel_spec.md §3), so every option records its position; table names may follow ``-o``/``-e``
anywhere on the line.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from lightnb.backends import POSTGRES, backend_for_url, sqlite
from lightnb.cli._common import add_project_options, project_from_args, target_from_args
from lightnb.cli._print_schema_postgres import print_schema_postgres
from lightnb.schema import FlagGroup, options_from_flags
from lightnb.schema.config import ALLOW_TABLES_MODES, COLUMN_SORTINGS, DOCS_MODES
from lightnb.schema.sync import SyncReport, check_migrations_sync, check_schema_sync, printed_in_style

_HELP = """Print the diesel schema (schema.rs) of the database, byte for byte as diesel_cli prints it.

Without --check, the text goes to stdout; diesel.toml's [print_schema] options apply and the flags
below override them. With --check, every configured schema file (`file` in [print_schema]) is
compared with what the database prints now: differences are listed one per line (table, column),
then the unified diff, and the exit status is 1 when a file is out of sync (like diesel's
--locked-schema)."""


class _Record(argparse.Action):
    """Record each option in command-line order, so ``--schema-key`` groups can be rebuilt."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        events = getattr(namespace, "events", None)
        if events is None:
            events = []
            namespace.events = events
        events.append((self.dest, values))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``print-schema`` verb."""
    parser = subparsers.add_parser("print-schema", help="print schema.rs as diesel does, or --check it",
                                   description=_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    # REMAINDER collects positional table names *and* any options after them (re-parsed in order).
    parser.add_argument("rest", nargs=argparse.REMAINDER, metavar="TABLE_NAME",
                        help="table regexes, used with -o or -e")
    flag = {"nargs": 0, "action": _Record}
    value = {"action": _Record}
    parser.add_argument("-o", "--only-tables", dest="only_tables", help="only tables matching TABLE_NAME",
                        **flag)
    parser.add_argument("-e", "--except-tables", dest="except_tables",
                        help="every table but those matching TABLE_NAME", **flag)
    parser.add_argument("--with-docs", dest="with_docs", help="write doc comments", **flag)
    parser.add_argument("--with-docs-config", dest="with_docs_config", choices=DOCS_MODES, metavar="MODE",
                        help=" | ".join(DOCS_MODES), **value)
    parser.add_argument("--allow-tables-to-appear-in-same-query-config", dest="allow_tables",
                        choices=ALLOW_TABLES_MODES, metavar="MODE", help=" | ".join(ALLOW_TABLES_MODES),
                        **value)
    parser.add_argument("--column-sorting", dest="column_sorting", choices=COLUMN_SORTINGS, metavar="MODE",
                        help=" | ".join(COLUMN_SORTINGS), **value)
    parser.add_argument("--patch-file", dest="patch_file", metavar="PATH",
                        help="unified diff applied to the output (relative to the current folder)", **value)
    parser.add_argument("--import-types", dest="import_types", metavar="TYPE",
                        help="`use TYPE;` in every table! (repeatable)", **value)
    parser.add_argument("--no-generate-missing-sql-type-definitions",
                        dest="no_generate_missing_sql_type_definitions", help="accepted (no effect on SQLite)",
                        **flag)
    parser.add_argument("--except-custom-type-definitions", dest="except_custom_type_definitions",
                        nargs="+", metavar="REGEX", action=_Record, help="accepted (no effect on SQLite)")
    parser.add_argument("--custom-type-derives", dest="custom_type_derives", metavar="DERIVE",
                        help="accepted (no effect on SQLite; repeatable)", **value)
    parser.add_argument("--pg-domains-as-custom-types", dest="pg_domains", metavar="REGEX",
                        help="accepted (PostgreSQL only)", **value)
    parser.add_argument("--sqlite-integer-primary-key-is-bigint", dest="integer_primary_key_is_bigint",
                        help="INTEGER PRIMARY KEY (and foreign keys to it) as BigInt", **flag)
    parser.add_argument("-s", "--schema", dest="schema", metavar="SCHEMA",
                        help="schema name (SQLite has only main)", **value)
    parser.add_argument("--schema-key", dest="schema_key", metavar="KEY",
                        help="the following options apply to [print_schema.KEY] only", **value)
    parser.add_argument("--style", choices=("auto", "2.1", "2.2", "2.3"), default="auto",
                        help="diesel_cli output style: 2.3 (rustfmt layout), 2.2, 2.1, or auto = the style of "
                             "the existing schema file (2.3 when there is none)")
    parser.add_argument("--check", action="store_true",
                        help="compare the configured schema file(s) with the database; exit 1 if out of sync")
    parser.add_argument("--fresh", action="store_true",
                        help="with --check: compare with a fresh database built by applying every migration, "
                             "instead of the project's database")
    add_project_options(parser)
    parser.set_defaults(func=_print_schema, events=None, _parser=parser)


def _all_events(args: argparse.Namespace) -> list[tuple[str, Any]]:
    """Return every option and table name in command-line order (re-parsing after positionals)."""
    events = list(args.events or [])
    rest = list(args.rest)
    while rest:
        names = []
        while rest and not rest[0].startswith("-"):
            names.append(rest.pop(0))
        events += [("table_name", name) for name in names]
        if rest:
            tail = args._parser.parse_args(rest)
            events += tail.events or []
            for name in ("database_url", "migration_dir", "config_file", "style", "check", "fresh"):
                default = args._parser.get_default(name)
                if getattr(tail, name) != default:
                    setattr(args, name, getattr(tail, name))
            if tail.project != ".":
                args.project = tail.project
            rest = list(tail.rest)
    return events


_SINGLE = ("with_docs_config", "column_sorting", "allow_tables", "patch_file", "schema")
_LISTS = ("import_types", "custom_type_derives", "pg_domains")


def flag_groups(events: list[tuple[str, Any]]) -> list[FlagGroup]:
    """Split recorded options into one :class:`FlagGroup` per ``--schema-key`` (diesel_spec.md §3)."""
    groups: list[dict[str, Any]] = [{"key": "default"}]
    for dest, value in events:
        if dest == "schema_key":
            groups.append({"key": value})
            continue
        group = groups[-1]
        if dest == "table_name":
            group.setdefault("table_names", []).append(value)
        elif dest in ("only_tables", "except_tables", "with_docs", "integer_primary_key_is_bigint",
                      "no_generate_missing_sql_type_definitions"):
            group[dest] = True
        elif dest in _SINGLE:
            group.setdefault(dest, value)
        elif dest in _LISTS:
            group.setdefault(dest, []).append(value)
        elif dest == "except_custom_type_definitions":
            group.setdefault(dest, []).extend(value)
    return [_flag_group(g) for g in groups]


def _flag_group(values: dict[str, Any]) -> FlagGroup:
    for name in ("table_names", "import_types", "custom_type_derives", "except_custom_type_definitions",
                 "pg_domains"):
        if name in values:
            values[name] = tuple(values[name])
    if "patch_file" in values:
        values["patch_file"] = Path(values["patch_file"]).resolve()
    return FlagGroup(**values)


def _print_schema(args: argparse.Namespace) -> int:
    events = _all_events(args)
    project = project_from_args(args)
    url = args.database_url or project.database_url
    if url and backend_for_url(url) == POSTGRES:
        return print_schema_postgres(url, project, flag_groups(events), style=args.style, check=args.check,
                                     fresh=args.fresh)
    if args.check and args.fresh:
        return _report(check_migrations_sync(project, style=args.style))
    target = target_from_args(args, project, write=False)
    conn = _open(project, target)
    try:
        if args.check:
            return _check(project, conn, args.style)
        if set(project.print_schema) <= {"default"}:
            # one configuration: diesel ignores --schema-key and applies every flag to it (config.rs)
            events = [(dest, value) for dest, value in events if dest != "schema_key"]
        configurations = options_from_flags(project.print_schema, project.config_dir, flag_groups(events))
        # diesel prints every configuration one after the other (diesel_spec.md §4.10)
        sys.stdout.write("".join(printed_in_style(conn, o, args.style)[2] for o in configurations))
    finally:
        conn.close()
    return 0


def _open(project: Any, target: Any) -> Any:
    """Open the database print-schema reads. A database that does not exist yet reads as empty, as
    in diesel (which creates it with SQLITE_OPEN_CREATE), but nothing is created: print-schema
    only reads (a note on stderr says the file is missing)."""
    location = target.location
    if location is not None and location.memory:
        return sqlite.connect(location)
    if not os.path.lexists(target.path) and target.workspace is None:
        print(f"lightnb: database {target.path} does not exist (not created): it reads as empty",
              file=sys.stderr)
        return sqlite.connect(":memory:")
    return sqlite.open_readonly(target.path)  # print-schema only reads


def _check(project: Any, conn: Any, style: str) -> int:
    return _report(check_schema_sync(project, conn, style=style))


def _report(report: SyncReport) -> int:
    if not report.files:
        print("No schema file is configured: add `file = \"src/schema.rs\"` to [print_schema] in diesel.toml.")
        return 1
    print(report)
    return 0 if report.in_sync else 1
