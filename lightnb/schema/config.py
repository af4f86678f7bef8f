"""Print-schema options: one diesel.toml ``[print_schema]`` configuration plus command-line flags.

diesel_spec.md §3 (flags) and §5 (diesel.toml keys).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lightnb.errors import ProjectError, with_advice

DOCS_FALLBACK = "database-comments-fallback-to-auto-generated-doc-comment"
DOCS_ONLY_DATABASE = "only-database-comments"
DOCS_NONE = "no-doc-comments"
DOCS_MODES = (DOCS_FALLBACK, DOCS_ONLY_DATABASE, DOCS_NONE)
COLUMN_SORTINGS = ("ordinal_position", "name")
ALLOW_TABLES_MODES = ("fk_related_tables", "all_tables", "none")
STYLES = ("2.1", "2.2", "2.3")
PRE_23_STYLES = ("2.1", "2.2")
DEFAULT_STYLE = "2.3"


@dataclass(frozen=True, slots=True)
class TableFilter:
    """Which tables a configuration prints: ``only`` or ``except`` regexes, or every table.

    Regexes are unanchored searches against the SQL table name, like Rust ``Regex::is_match``.
    """

    kind: str | None = None
    patterns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for pattern in self.patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ProjectError(with_advice(f"Invalid argument for table filtering regex: regex parse error: "
                                               f"{pattern}", f"{error}; fix the regular expression")) from error

    def keeps(self, name: str) -> bool:
        """Return whether the table ``name`` is printed."""
        if self.kind is None:
            return True
        matched = any(re.search(p, name) for p in self.patterns)
        return matched if self.kind == "only" else not matched


@dataclass(frozen=True, slots=True)
class PrintSchemaOptions:
    """Everything that shapes one printed schema.

    :param key: the configuration name (``default`` for the top-level ``[print_schema]``).
    :param file: where regeneration writes the schema (absolute), or None.
    :param with_docs: one of :data:`DOCS_MODES`.
    :param filter: the table filter.
    :param column_sorting: ``ordinal_position`` or ``name``.
    :param allow_tables: ``all_tables``, ``fk_related_tables`` or ``none``.
    :param import_types: ``use`` lines at the top of each ``table!``, or None.
    :param patch_file: a unified diff applied to the output, or None.
    :param integer_primary_key_is_bigint: ``sqlite_integer_primary_key_is_bigint``.
    :param schema: a schema name (SQLite rejects any; PostgreSQL prints it as ``pub mod``).
    :param custom_type_derives: derives of the generated SQL types (PostgreSQL; SqlType is always added).
    :param generate_missing_sql_type_definitions: write ``pub mod sql_types`` for types diesel lacks.
    :param except_custom_type_definitions: regexes of type names to leave undefined.
    :param pg_domains_as_custom_types: regexes of PostgreSQL domains printed as their own type.
    :param style: ``2.3`` (rustfmt layout, current rules), ``2.2`` or ``2.1`` (diesel_cli 2.2/2.1 output).
    """

    key: str = "default"
    file: Path | None = None
    with_docs: str = DOCS_NONE
    filter: TableFilter = field(default_factory=TableFilter)
    column_sorting: str = "ordinal_position"
    allow_tables: str = "all_tables"
    import_types: tuple[str, ...] | None = None
    patch_file: Path | None = None
    integer_primary_key_is_bigint: bool = False
    schema: str | None = None
    custom_type_derives: tuple[str, ...] | None = None
    generate_missing_sql_type_definitions: bool = True
    except_custom_type_definitions: tuple[str, ...] = ()
    pg_domains_as_custom_types: tuple[str, ...] = ()
    style: str = DEFAULT_STYLE

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ProjectError(f"Unknown print-schema style {self.style!r}; use one of 2.1, 2.2, 2.3 or auto.")
        for pattern in (*self.except_custom_type_definitions, *self.pg_domains_as_custom_types):
            try:
                re.compile(pattern)
            except re.error as error:
                raise ProjectError(f"Invalid regular expression {pattern!r} in the print-schema options: "
                                   f"{error}; fix it.") from error

    @property
    def derives(self) -> tuple[str, ...]:
        """Return the derives of generated SQL types: the configured ones, plus diesel's SqlType."""
        derives = tuple(self.custom_type_derives or ())
        sql_type = "diesel::sql_types::SqlType"
        return derives if sql_type in derives else (*derives, sql_type)


def _fail(key: str, message: str) -> ProjectError:
    where = "[print_schema]" if key == "default" else f"[print_schema.{key}]"
    return ProjectError(f"Failed to parse config file: {where} {message}; fix diesel.toml.")


def _choice(key: str, name: str, value: Any, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _fail(key, f"`{name}` must be one of {', '.join(choices)}, not {value!r}")
    return value


def _strings(key: str, name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(key, f"`{name}` must be an array of strings")
    return tuple(value)


def _boolean(key: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(key, f"`{name}` must be true or false")
    return value


def _docs_mode(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return DOCS_FALLBACK if value else DOCS_NONE
    return _choice(key, "with_docs", value, DOCS_MODES)


def _table_filter(key: str, value: Any) -> TableFilter:
    if not isinstance(value, dict):
        raise _fail(key, "`filter` must be a table like { only_tables = [...] }")
    kinds = [k for k in ("only_tables", "except_tables") if k in value]
    unknown = sorted(set(value) - {"only_tables", "except_tables"})
    if unknown:
        raise _fail(key, f"`filter` has an unknown field `{unknown[0]}`")
    if len(kinds) == 2:
        raise _fail(key, "`filter` has duplicate field `only_tables except_tables`")
    if not kinds:
        return TableFilter()
    kind = kinds[0]
    return TableFilter(kind.removesuffix("_tables"), _strings(key, f"filter.{kind}", value[kind]))


def _path(value: Any, base: Path, key: str, name: str) -> Path:
    if not isinstance(value, str):
        raise _fail(key, f"`{name}` must be a path string")
    path = Path(value)
    return path if path.is_absolute() else base / path


def options_from_config(section: Mapping[str, Any], config_dir: Path, *, key: str = "default",
                        style: str = DEFAULT_STYLE) -> PrintSchemaOptions:
    """Build the options of one ``[print_schema]`` configuration of diesel.toml.

    :param section: the raw TOML table (sub-tables of named configurations are ignored).
    :param config_dir: the directory relative ``file`` and ``patch_file`` resolve against.
    :param key: the configuration name.
    :param style: the output style to print in.
    :raises ProjectError: for a value diesel would reject.
    """
    config_dir = Path(config_dir)
    values: dict[str, Any] = {"key": key, "style": style}
    for name, value in section.items():
        if name == "file":
            values["file"] = _path(value, config_dir, key, name)
        elif name == "patch_file":
            values["patch_file"] = _path(value, config_dir, key, name)
        elif name == "with_docs":
            values["with_docs"] = _docs_mode(key, value)
        elif name == "filter":
            values["filter"] = _table_filter(key, value)
        elif name == "column_sorting":
            values["column_sorting"] = _choice(key, name, value, COLUMN_SORTINGS)
        elif name == "allow_tables_to_appear_in_same_query_config":
            values["allow_tables"] = _choice(key, name, value, ALLOW_TABLES_MODES)
        elif name == "import_types":
            values["import_types"] = _strings(key, name, value)
        elif name == "custom_type_derives":
            values["custom_type_derives"] = _strings(key, name, value)
        elif name == "except_custom_type_definitions":
            values["except_custom_type_definitions"] = _strings(key, name, value)
        elif name == "pg_domains_as_custom_types":
            values["pg_domains_as_custom_types"] = _strings(key, name, value)
        elif name == "sqlite_integer_primary_key_is_bigint":
            values["integer_primary_key_is_bigint"] = _boolean(key, name, value)
        elif name == "generate_missing_sql_type_definitions":
            values["generate_missing_sql_type_definitions"] = _boolean(key, name, value)
        elif name == "schema":
            values["schema"] = str(value)
        elif isinstance(value, dict):
            continue  # a named sub-configuration, read on its own
        elif name not in _IGNORED_KEYS:
            raise _fail(key, f"has an unknown option `{name}`")
    return PrintSchemaOptions(**values)


# Keys diesel accepts that change nothing in 2.3 (MySQL, or master-only).
_IGNORED_KEYS = frozenset({"include_views",
                           "experimental_infer_nullable_for_views", "custom_enum_derives",
                           "generate_rust_enum_definitions"})


def configurations(sections: Mapping[str, Mapping[str, Any]], config_dir: Path, *,
                   style: str = DEFAULT_STYLE) -> list[PrintSchemaOptions]:
    """Return every configuration in diesel's order: sorted keys, ``default`` always present.

    :param sections: configuration key -> raw table (``Project.print_schema``).
    """
    merged = {"default": {}, **sections}
    return [options_from_config(merged[key], config_dir, key=key, style=style) for key in sorted(merged)]


@dataclass(frozen=True, slots=True)
class FlagGroup:
    """Command-line flags that apply to one configuration (``--schema-key`` starts a group).

    Fields left at None/False/empty were not given and change nothing (diesel_spec.md §3).
    """

    key: str = "default"
    table_names: tuple[str, ...] = ()
    only_tables: bool = False
    except_tables: bool = False
    with_docs: bool = False
    with_docs_config: str | None = None
    column_sorting: str | None = None
    allow_tables: str | None = None
    patch_file: Path | None = None
    import_types: tuple[str, ...] | None = None
    custom_type_derives: tuple[str, ...] | None = None
    integer_primary_key_is_bigint: bool = False
    schema: str | None = None
    no_generate_missing_sql_type_definitions: bool = False
    except_custom_type_definitions: tuple[str, ...] | None = None
    pg_domains: tuple[str, ...] | None = None


def apply_flags(options: PrintSchemaOptions, flags: FlagGroup) -> PrintSchemaOptions:
    """Return ``options`` overridden by the flags that were given.

    :raises ProjectError: for an invalid table regex or choice.
    """
    changes: dict[str, Any] = {}
    if flags.only_tables:
        changes["filter"] = TableFilter("only", flags.table_names)
    elif flags.except_tables:
        changes["filter"] = TableFilter("except", flags.table_names)
    if flags.with_docs:
        changes["with_docs"] = DOCS_FALLBACK
    if flags.with_docs_config is not None:
        changes["with_docs"] = _choice(options.key, "--with-docs-config", flags.with_docs_config, DOCS_MODES)
    if flags.column_sorting is not None:
        changes["column_sorting"] = _choice(options.key, "--column-sorting", flags.column_sorting,
                                            COLUMN_SORTINGS)
    if flags.allow_tables is not None:
        changes["allow_tables"] = _choice(options.key, "--allow-tables-to-appear-in-same-query-config",
                                          flags.allow_tables, ALLOW_TABLES_MODES)
    for name in ("patch_file", "import_types", "custom_type_derives", "schema",
                 "except_custom_type_definitions"):
        if getattr(flags, name) is not None:
            changes[name] = getattr(flags, name)
    if flags.integer_primary_key_is_bigint:
        changes["integer_primary_key_is_bigint"] = True
    if flags.no_generate_missing_sql_type_definitions:
        changes["generate_missing_sql_type_definitions"] = False
    if flags.pg_domains is not None:
        changes["pg_domains_as_custom_types"] = flags.pg_domains
    return replace(options, **changes)


def options_from_flags(sections: Mapping[str, Mapping[str, Any]], config_dir: Path,
                       groups: Iterable[FlagGroup], *, style: str = DEFAULT_STYLE
                       ) -> list[PrintSchemaOptions]:
    """Return every configuration with the command-line groups applied, in print order.

    :param sections: configuration key -> raw table (``Project.print_schema``).
    :param groups: flags per ``--schema-key`` (the first group, before any key, is ``default``).
    :raises ProjectError: for a ``--schema-key`` that has no configuration.
    """
    options = {o.key: o for o in configurations(sections, config_dir, style=style)}
    for group in groups:
        if group.key not in options:
            raise ProjectError(with_advice(f"No `[print_schema.{group.key}]` entries in your diesel.toml",
                                           "add the section or fix --schema-key"))
        options[group.key] = apply_flags(options[group.key], group)
    return [options[key] for key in sorted(options)]
