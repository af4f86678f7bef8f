"""``lightnb print-schema``: diesel's print-schema (same flags, same bytes), plus ``--check``.

Options after a ``--schema-key KEY`` apply to that configuration only, as in diesel
(diesel_spec.md §3), so every option records its position; table names may follow ``-o``/``-e``
anywhere on the line.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lightnb import steps
from lightnb.cli._common import add_project_options, announce_target, project_from_args

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


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``print-schema`` verb's arguments."""
    parser.description = _HELP
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    modes = steps.schema_option_choices()
    # REMAINDER collects positional table names *and* any options after them (re-parsed in order).
    parser.add_argument("rest", nargs=argparse.REMAINDER, metavar="TABLE_NAME",
                        help="table regexes, used with -o or -e")
    flag: dict[str, Any] = {"nargs": 0, "action": _Record}
    value: dict[str, Any] = {"action": _Record}
    parser.add_argument("-o", "--only-tables", dest="only_tables", help="only tables matching TABLE_NAME",
                        **flag)
    parser.add_argument("-e", "--except-tables", dest="except_tables",
                        help="every table but those matching TABLE_NAME", **flag)
    parser.add_argument("--with-docs", dest="with_docs", help="write doc comments", **flag)
    parser.add_argument("--with-docs-config", dest="with_docs_config", choices=modes["with_docs_config"],
                        metavar="MODE", help=" | ".join(modes["with_docs_config"]), **value)
    parser.add_argument("--allow-tables-to-appear-in-same-query-config", dest="allow_tables",
                        choices=modes["allow_tables"], metavar="MODE", help=" | ".join(modes["allow_tables"]),
                        **value)
    parser.add_argument("--column-sorting", dest="column_sorting", choices=modes["column_sorting"],
                        metavar="MODE", help=" | ".join(modes["column_sorting"]), **value)
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


def _print_schema(args: argparse.Namespace) -> int:
    events = _all_events(args)
    project = project_from_args(args)
    if args.check:
        checked = steps.check_schema(project, database_url=args.database_url, style=args.style, fresh=args.fresh)
        announce_target(checked.target)
        for note in checked.notes:
            print(note, file=sys.stderr)
        print(checked)
        return 0 if checked.in_sync and checked.configured else 1
    printed = steps.print_schema(project, database_url=args.database_url, flags=events, style=args.style)
    announce_target(printed.target)
    for note in printed.notes:
        print(note, file=sys.stderr)
    sys.stdout.write(printed.text)
    return 0
