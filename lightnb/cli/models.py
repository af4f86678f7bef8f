"""``lightnb models check|generate``: compare model structs with schema.rs, and plan the missing code."""

from __future__ import annotations

import argparse

from lightnb import steps


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``models`` verb's ``check`` and ``generate`` sub-commands."""
    verbs = parser.add_subparsers(dest="models_command", metavar="ACTION")
    verbs.required = True
    check = verbs.add_parser("check", help="report structs that do not match schema.rs; exit 1 on proven drift "
                                            "(--strict: any), or when a model file has lines that cannot be read")
    _common(check)
    fail_on, default = steps.models_fail_on()
    check.add_argument("--fail-on", choices=fail_on, default=default,
                       help="exit 1 only on findings that cannot compile (proven, the default), or on any "
                            "finding; lines that cannot be parsed fail either way (their structs were not checked)")
    check.add_argument("--strict", action="store_true",
                       help="also fail on findings that cannot be proven (same as --fail-on any)")
    check.set_defaults(func=run_check)
    generate = verbs.add_parser("generate", help="show (or --apply) the fields and structs schema.rs calls for: "
                                                  "new fields and structs, dropped fields removed, changed "
                                                  "types rewritten; structs it cannot change safely are named")
    _common(generate)
    generate.add_argument("--table", action="append", metavar="T", help="only this table (repeatable)")
    generate.add_argument("--previous-schema", metavar="FILE",
                          help="schema.rs before the migration: plan only what it lacks")
    generate.add_argument("--apply", action="store_true", help="write the planned changes to the model files")
    generate.add_argument("--repository", action="store_true",
                          help="also print repository functions (get_/update_) for the new columns, "
                               "or for every column of --table")
    generate.set_defaults(func=run_generate)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", metavar="URL",
                        help="compare with the schema printed from this database instead of schema.rs")
    parser.add_argument("--models-dir", metavar="DIR", help="model structs (default: src/models)")
    parser.add_argument("--schema", metavar="FILE", help="schema.rs (default: [print_schema] file)")
    parser.add_argument("--config-file", metavar="PATH", help="diesel.toml to use")
    parser.add_argument("--project", metavar="DIR", default=".", help="folder inside the Diesel project")


def _project(args: argparse.Namespace) -> steps.Project:
    return steps.open_project(args.project, database_url=args.database_url, config_file=args.config_file)


def run_check(args: argparse.Namespace) -> int:
    """Print every finding (PROVEN or cannot be proven) and a summary; exit 1 on drift.

    A model file region that cannot be parsed fails the check even with ``--fail-on proven``:
    its structs were not checked, so a pass would claim more than was seen.
    """
    report = steps.check_models(_project(args), models_dir=args.models_dir, schema=args.schema,
                                from_database=bool(args.database_url))
    print(report)
    return 1 if report.fails("any" if args.strict else args.fail_on) else 0


def run_generate(args: argparse.Namespace) -> int:
    """Print the planned changes as diffs; write them with ``--apply``; name the structs left alone."""
    plan = steps.plan_models(_project(args), models_dir=args.models_dir, schema=args.schema,
                             from_database=bool(args.database_url), previous_schema=args.previous_schema,
                             tables=args.table, apply=args.apply, repository=args.repository)
    print(plan)
    return 0
