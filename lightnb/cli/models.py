"""``lightnb models check|generate``: compare model structs with schema.rs, and plan the missing code."""

from __future__ import annotations

import argparse
from pathlib import Path

from lightnb.errors import ModelDrift
from lightnb.models import locate
from lightnb.models.drift import DEFAULT_FAIL_ON, FAIL_ON, check_models
from lightnb.models.house_style import HouseStyle, read_house_style
from lightnb.models.repository import repository_for_migration, repository_functions, unique_foreign_keys
from lightnb.models.scaffold import apply_change, plan_models, read_model_file
from lightnb.models.schema_rs import Schema, load_schema, parse_schema
from lightnb.project import Project


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``models`` verb and its ``check`` and ``generate`` sub-commands."""
    parser = subparsers.add_parser("models", help="check or generate Rust model structs against schema.rs")
    verbs = parser.add_subparsers(dest="models_command", metavar="ACTION")
    verbs.required = True
    check = verbs.add_parser("check", help="report structs that do not match schema.rs; exit 1 on proven drift "
                                            "(--strict: any), or when a model file has lines that cannot be read")
    _common(check)
    check.add_argument("--fail-on", choices=FAIL_ON, default=DEFAULT_FAIL_ON,
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


def _inputs(args: argparse.Namespace) -> tuple[Path, Schema]:
    project = Project.discover(args.project, database_url=args.database_url, config_file=args.config_file)
    models = locate.models_dir(project, args.models_dir)
    if args.database_url and not args.schema:
        schema = parse_schema(locate.schema_text_from_database(project))
    else:
        schema = load_schema(locate.schema_file(project, args.schema))
    return models, schema


def run_check(args: argparse.Namespace) -> int:
    """Print every finding (PROVEN or cannot be proven) and a summary; exit 1 on drift.

    A model file region that cannot be parsed fails the check even with ``--fail-on proven``:
    its structs were not checked, so a pass would claim more than was seen.
    """
    models, schema = _inputs(args)
    report = check_models(models, schema, src_root=locate.src_root_for(models))
    print(report)
    return 1 if report.fails("any" if args.strict else args.fail_on) else 0


def run_generate(args: argparse.Namespace) -> int:
    """Print the planned changes as diffs; write them with ``--apply``; name the structs left alone."""
    models, schema = _inputs(args)
    previous = load_schema(args.previous_schema) if args.previous_schema else None
    plan = plan_models(models, schema, previous=previous, tables=args.table, src_root=locate.src_root_for(models))
    if args.apply:
        for change in plan.changes:  # every target is checked before any file is written
            read_model_file(change.path)
    for change in plan.changes:
        print(change.diff, end="")
        if args.apply:
            apply_change(change)
            print(f"applied: {change.description}")
    for left in plan.left_alone:
        print(left)
    if not plan.changes and not plan.left_alone:
        print("models: nothing to generate")
    if args.repository:
        project = Project.discover(args.project, database_url=args.database_url, config_file=args.config_file)
        style = read_house_style(locate.src_root_for(models, project), exclude=(models, *_paths(schema)))
        print(_repository_text(schema, previous, args.table, style, locate.unique_columns(project)))
    return 0


def _paths(schema: Schema) -> tuple[Path, ...]:
    return (schema.path,) if schema.path is not None else ()


def _repository_text(schema: Schema, previous: Schema | None, tables: list[str] | None, style: HouseStyle,
                     unique: dict[str, tuple[str, ...]]) -> str:
    if previous is not None:
        blocks = repository_for_migration(previous, schema, style=style, unique=unique)
        return "\n".join(code for name, code in blocks.items() if not tables or name in tables)
    if not tables:
        raise ModelDrift("--repository needs --previous-schema FILE or --table T to know which columns")
    schema.require_tables(tables)
    out = []
    for name in tables:
        table = next(t for t in schema.tables if t.rust_name == name)
        keys = unique_foreign_keys(schema, name, unique.get(name, ()))
        out.append(repository_functions(table, style=style, unique_keys=keys))
    return "\n".join(out)
