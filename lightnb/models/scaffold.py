"""Plan what schema.rs calls for in the model structs, then apply it on request.

A migration adds columns (a field each), drops columns (their fields go, with the field's own
attributes and doc comments), changes a column's type (the field's type follows, see
:mod:`lightnb.models.retype`) or adds a table (its structs are appended). Every struct mapped to
the table (Queryable, Selectable, Insertable, AsChangeset) gets the change.

A :class:`ModelChange` is computed against a file as it is now and shown as a unified diff.
Applying it is an explicit step that touches only the struct concerned (or appends a new one):
if that struct was edited since the plan, nothing is written and the plan must be made again.
Only the lines of the fields concerned change; every other line, comment and attribute of the
file stays as written. A struct whose text may not be what ``cargo build`` compiles is left
alone and reported (:mod:`lightnb.models.changeable`).
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from lightnb.errors import FileWriteError, ModelDrift
from lightnb.files import existing_regular, real_target, write_text_atomic
from lightnb.models._syntax import error_regions, parse_rust
from lightnb.models.changeable import LeftAlone, macro_reports, removal_doubt, struct_doubt, unused_generics
from lightnb.models.drift import _schema_module, _StructCheck, struct_writes_field
from lightnb.models.mapping import DEFAULT_SCHEMA_MODULE, field_line, insertion_anchor, resolve_table, struct_style
from lightnb.models.modules import ModuleTree
from lightnb.models.naming import struct_name_for
from lightnb.models.retype import AliasIndex, Retyper, TypeChange, TypeDoubt, column_changed, preferred_types
from lightnb.models.rust_reader import ModelField, ModelStruct, RustFile, read_models_dir, read_rust
from lightnb.models.schema_rs import Schema, SchemaColumn, SchemaTable, load_schema
from lightnb.models.usage import find_loads

if TYPE_CHECKING:
    from collections.abc import Iterable

_ROW_DERIVES = ("Queryable", "Selectable", "Insertable")
_BACKENDS = {"sqlite": "diesel::sqlite::Sqlite", "postgres": "diesel::pg::Pg"}  # check_for_backend


@dataclass(frozen=True, slots=True)
class NewField:
    """One field line to add, placed after (or before) an existing field of the struct."""

    column: str
    line: str
    anchor: str | None
    after: bool


@dataclass(frozen=True, slots=True)
class ModelChange:
    """A planned change to one model file.

    :param path: the file to change (it may not exist yet for a new table).
    :param kind: ``add_fields`` (only columns added to a table), ``update_fields`` (fields removed
        or retyped, maybe added too) or ``new_struct`` (a new table).
    :param struct: the struct changed, or the first struct created.
    :param table: the table concerned.
    :param columns: the columns the change adds.
    :param original: the file text the plan was made from.
    :param guard: the struct's text when planned (``add_fields``).
    :param fields: the field lines to add (``add_fields``).
    :param code: the code to append (``new_struct``).
    :param use_line: the ``use`` line the new struct needs, if any (``new_struct``).
    :param module: the module of the struct, to find it again when applying.
    :param removed: ``(field, column)`` of each field removed (its column was dropped).
    :param retyped: the fields whose type changes.
    """

    path: Path
    kind: str
    struct: str
    table: str
    columns: tuple[str, ...]
    original: str
    guard: str = ""
    fields: tuple[NewField, ...] = ()
    code: str = ""
    use_line: str | None = None
    module: tuple[str, ...] = ("crate",)
    removed: tuple[tuple[str, str], ...] = ()
    retyped: tuple[TypeChange, ...] = ()

    @property
    def new_text(self) -> str:
        """Return the file text after the change."""
        return render_change(self, self.original)

    @property
    def diff(self) -> str:
        """Return the change as a unified diff of the file."""
        return unified_diff(self.path, self.original, self.new_text)

    @property
    def description(self) -> str:
        """Return one line saying what the change does."""
        if self.kind == "new_struct":
            return f"add structs for new table `{self.table}` to {self.path}"
        if self.kind == "add_fields":
            return f"add {', '.join(self.columns)} to struct `{self.struct}` in {self.path}"
        parts = []
        if self.columns:
            parts.append(f"add {', '.join(self.columns)}")
        if self.removed:
            parts.append(f"remove {', '.join(name for name, _ in self.removed)} (dropped)")
        for change in self.retyped:
            parts.append(f"change {change.field} to {change.new} ({change.why})")
        return f"{'; '.join(parts)} in struct `{self.struct}` in {self.path}"


def unified_diff(path: Path, before: str, after: str) -> str:
    """Return a unified diff between two versions of a file (``a/`` and ``b/`` prefixed)."""
    try:
        shown = path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        shown = path.name
    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 f"a/{shown}", f"b/{shown}")
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


# -- generation --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HouseStyle:
    """How a code base writes its model structs (taken from its existing structs)."""

    row_derives: tuple[str, ...] = _ROW_DERIVES
    insert_derives: tuple[str, ...] = ("Insertable",)
    check_for_backend: bool = True
    indent: str = "    "
    visibility: str = "pub"


def house_style(files: Iterable[RustFile]) -> HouseStyle:
    """Return the most common way the files write row structs and ``New…`` insertables."""
    rows: Counter[tuple[str, ...]] = Counter()
    inserts: Counter[tuple[str, ...]] = Counter()
    backend = Counter[bool]()
    indents: Counter[tuple[str, str]] = Counter()
    for rust_file in files:
        for struct in rust_file.structs:
            if "Queryable" in struct.derives:
                rows[struct.derives] += 1
                backend[bool(struct.check_for_backend)] += 1
            elif struct.derives_any("Insertable"):
                inserts[struct.derives] += 1
            if struct.fields:
                indents[struct_style(struct, rust_file.text)] += 1
    default = HouseStyle()
    indent, visibility = indents.most_common(1)[0][0] if indents else (default.indent, default.visibility)
    return HouseStyle(
        row_derives=rows.most_common(1)[0][0] if rows else default.row_derives,
        insert_derives=inserts.most_common(1)[0][0] if inserts else default.insert_derives,
        check_for_backend=backend.most_common(1)[0][0] if backend else True,
        indent=indent, visibility=visibility)


def generate_for_table(table: SchemaTable, *, style: HouseStyle | None = None,
                       struct_name: str | None = None, doc_comments: bool = False) -> str:
    """Return the row struct and its ``New…`` insertable (without the auto id) for a table.

    :param table: the table from schema.rs.
    :param style: derives, backend check, indentation and visibility (default: the seed's).
    :param struct_name: the row struct's name (default: the singular of the table name).
    :param doc_comments: put a ``///`` line naming the column and its type above each field.
    """
    style = style or HouseStyle()
    name = struct_name or struct_name_for(table.rust_name)
    auto = auto_increment_key(table)
    row = _struct_code(name, table, table.columns, style.row_derives, style, doc_comments,
                       backend=style.check_for_backend)
    insert_columns = tuple(c for c in table.columns if c.rust_name != auto)
    insert = _struct_code(f"New{name}", table, insert_columns, style.insert_derives, style, doc_comments,
                          backend=False)
    return f"{row}\n{insert}"


def _struct_code(name: str, table: SchemaTable, columns: tuple, derives: tuple[str, ...], style: HouseStyle,
                 doc_comments: bool, *, backend: bool) -> str:
    lines = [f"#[derive({', '.join(derives)})]", f"#[diesel(table_name = {table.rust_name})]"]
    if backend and any(d in ("Queryable", "Selectable") for d in derives):
        lines.append(f"#[diesel(check_for_backend({_BACKENDS[table.backend]}))]")
    lines.append(f"pub struct {name} {{")
    for column in columns:
        if doc_comments:
            lines.append(f"{style.indent}/// `{table.rust_name}.{column.rust_name}`: {column.diesel_type}")
        lines.append(field_line(column, indent=style.indent, visibility=style.visibility))
    lines.append("}")
    return "\n".join(lines) + "\n"


def auto_increment_key(table: SchemaTable) -> str | None:
    """Return the single integer primary-key column SQLite fills in (``INTEGER PRIMARY KEY``), or None."""
    if len(table.primary_key) != 1:
        return None
    column = table.column(table.primary_key[0])
    if column is None or column.sql_type.canonical not in ("Integer", "BigInt"):
        return None
    return column.rust_name


# -- planning ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelPlan:
    """What schema.rs calls for in the model files.

    :param changes: the changes lightnb can make, one per struct (or new table).
    :param left_alone: structs (and macros) that need a change lightnb does not make, with why.
    """

    changes: tuple[ModelChange, ...]
    left_alone: tuple[LeftAlone, ...] = ()


def plan_model_changes(models_dir: str | Path, schema: str | Path | Schema, *,
                       previous: str | Path | Schema | None = None, tables: Iterable[str] | None = None,
                       schema_module: tuple[str, ...] | None = None,
                       src_root: Path | None = None) -> list[ModelChange]:
    """Plan the model changes schema.rs calls for (see :func:`plan_models`); return the changes only."""
    return list(plan_models(models_dir, schema, previous=previous, tables=tables, schema_module=schema_module,
                            src_root=src_root).changes)


def plan_models(models_dir: str | Path, schema: str | Path | Schema, *,
                previous: str | Path | Schema | None = None, tables: Iterable[str] | None = None,
                schema_module: tuple[str, ...] | None = None, src_root: Path | None = None) -> ModelPlan:
    """Plan the model changes schema.rs calls for: fields for new columns, no fields for dropped
    ones, new types for changed ones, structs for new tables.

    :param models_dir: the models folder (or one file).
    :param schema: schema.rs now (path, text or :class:`Schema`).
    :param previous: schema.rs before the migration; when given, only what changed since is
        planned. Without it, fields are added for every column a struct lacks, and removed or
        retyped only where they provably cannot compile.
    :param tables: only plan for these tables.
    :param schema_module: the Rust module of schema.rs (default: from its path, else ``crate::schema``).
    :param src_root: the crate's ``src`` folder (default: the parent of ``models_dir``).
    :raises ModelDrift: when the models folder or the schema file is missing, or a table in
        ``tables`` is not in schema.rs.
    """
    current = schema if isinstance(schema, Schema) else load_schema(schema)
    if tables is not None:
        current.require_tables(tables)
    before = previous if isinstance(previous, Schema) or previous is None else load_schema(previous)
    models_dir = Path(models_dir)
    src_root = src_root or models_dir.parent
    files = read_models_dir(models_dir, src_root=src_root)
    module = schema_module or _schema_module(current, src_root)
    wanted = set(tables) if tables is not None else None
    planner = _Planner(files, current, before, module, src_root)
    changes: list[ModelChange] = []
    left_alone: list[LeftAlone] = []
    mapped: set[str] = set()
    for rust_file in files:
        not_compiled = planner.modules.why_not_compiled(rust_file)
        for struct in rust_file.structs:
            if not struct.derives_any("Queryable", "Selectable", "Insertable", "AsChangeset"):
                continue
            match = resolve_table(struct, current, module)
            if match.status != "schema" or match.table is None:
                left_alone.extend(planner.unmapped(rust_file, struct, match.status, wanted))
                continue
            mapped.add(match.table.rust_name)
            if wanted is not None and match.table.rust_name not in wanted:
                continue
            outcome = planner.plan_struct(rust_file, struct, match.table, not_compiled)
            if isinstance(outcome, ModelChange):
                changes.append(outcome)
            elif outcome is not None:
                left_alone.append(outcome)
    for table in current.tables:
        if table.rust_name in mapped or (wanted is not None and table.rust_name not in wanted):
            continue
        if before is not None and before.table(table.rust_name, table.module) is not None:
            continue
        changes.append(_new_struct(files, models_dir, table, module))
    changed = {t: c for t, c in planner.changed_columns().items() if wanted is None or t in wanted}
    left_alone.extend(macro_reports(files, changed))
    return ModelPlan(tuple(changes), tuple(left_alone))


class _Planner:
    """The plan of one models folder against one schema.rs (and the one before, when known)."""

    def __init__(self, files: list[RustFile], current: Schema, before: Schema | None, module: tuple[str, ...],
                 src_root: Path) -> None:
        self.files, self.current, self.before, self.module = files, current, before, module
        self.modules = ModuleTree(files, src_root)
        self.src_root = src_root
        aliases = AliasIndex(files)
        rows = []
        for rust_file in files:
            for struct in rust_file.structs:
                match = resolve_table(struct, current, module)
                if match.status == "schema" and match.table is not None:
                    old = self.previous_table(match.table)
                    rows += [(struct, f, c) for f in struct.fields
                             if (c := match.table.column(f.column)) is not None
                             and (old is None and before is None or old is not None and (o := old.column(c.rust_name))
                                  is not None and not column_changed(o, c))]
        self.retyper = Retyper(files, aliases, preferred_types(rows, aliases))
        self._loads: list | None = None
        self._changed: dict[str, dict[str, str]] | None = None

    def previous_table(self, table: SchemaTable) -> SchemaTable | None:
        return self.before.table(table.rust_name, table.module) if self.before is not None else None

    def changed_columns(self) -> dict[str, dict[str, str]]:
        """Per table, the columns dropped or retyped since the previous schema.rs (empty without it)."""
        if self._changed is not None:
            return self._changed
        out: dict[str, dict[str, str]] = {}
        self._changed = out
        if self.before is None:
            return out
        for old in self.before.tables:
            new = self.current.table(old.rust_name, old.module)
            for column in old.columns:
                now = new.column(column.rust_name) if new is not None else None
                if now is None:
                    out.setdefault(old.rust_name, {})[column.rust_name] = "was dropped"
                elif column_changed(column, now):
                    out.setdefault(old.rust_name, {})[column.rust_name] = f"is now {now.diesel_type}"
        return out

    # -- one struct ----------------------------------------------------------------------------

    def plan_struct(self, rust_file: RustFile, struct: ModelStruct, table: SchemaTable,
                    not_compiled: str | None) -> ModelChange | LeftAlone | None:
        """Plan one struct's change, or say why it is left alone (None: nothing to do)."""
        if struct.derives_any("Queryable") and not (struct.derives_any("Selectable") or struct.table_explicit):
            return self.custom_select(struct)  # loaded from a query whose columns cannot be seen here
        old = self.previous_table(table)
        added = _missing_columns(struct, table, self.before, old)
        removed, doubts = self._dropped_fields(struct, table, old, rust_file.text)
        retyped: list[TypeChange] = []
        gone = {f.name for f in removed}
        for model_field in struct.fields:
            if model_field.name in gone or _special(model_field):
                continue
            column = table.column(model_field.column)
            if column is None or not _uses_column(struct, model_field, table):
                continue
            previous_column = old.column(model_field.column) if old is not None else None
            if old is not None and previous_column is None:
                continue  # the field is older than its column: not this migration's business
            outcome = self.retyper.new_type(struct, model_field, table, rust_file, column, previous_column)
            if isinstance(outcome, TypeChange):
                retyped.append(outcome)
            elif isinstance(outcome, TypeDoubt):
                doubts.append((outcome.column, outcome.reason, outcome.by_hand))
        if not (added or removed or retyped or doubts):
            return None
        concerned = tuple(dict.fromkeys([c.rust_name for c in added] + [f.column for f in removed]
                                        + [r.column for r in retyped] + [d[0] for d in doubts]))
        by_hand = _by_hand(added, removed, retyped, doubts)
        reason = struct_doubt(struct, rust_file, not_compiled)
        if reason is None and (removed or retyped):
            reason = removal_doubt(struct, removed)
        if reason is None and doubts:
            reason = doubts[0][1]
        if reason is None:
            new_types = {r.field: r.new for r in retyped}
            kept = [new_types.get(f.name, (f.written or f.type).text) for f in struct.fields if f.name not in gone]
            unused = unused_generics(struct, kept)
            if unused:
                reason = f"the change would leave `{unused[0]}` unused in `{struct.name}`, which does not compile"
        if reason is not None:
            return LeftAlone(struct.name, struct.path, struct.line, table.rust_name, concerned, reason, by_hand)
        return _field_change(rust_file, struct, table, added, removed, retyped)

    def _dropped_fields(self, struct: ModelStruct, table: SchemaTable, old: SchemaTable | None,
                        text: str) -> tuple[list[ModelField], list[tuple[str, str, str]]]:
        """Return the fields whose column was dropped, and doubts ``(column, reason, by hand)`` about
        fields that may be meant for another column."""
        removed: list[ModelField] = []
        doubts: list[tuple[str, str, str]] = []
        for model_field in struct.fields:
            if _special(model_field) or table.column(model_field.column) is not None:
                continue
            if not _uses_column(struct, model_field, table):
                continue
            if old is not None:
                if old.column(model_field.column) is not None:
                    removed.append(model_field)
                continue
            if self.before is not None:
                continue  # a table new since the previous schema.rs: the field was never its column
            candidate = _StructCheck(struct, table, text, None)._mapping_candidate(model_field)
            if candidate is not None:
                doubts.append((model_field.column, f"field `{model_field.name}` has no column; it may be meant for "
                               f"`{table.rust_name}.{candidate.rust_name}`",
                               f"add `#[diesel(column_name = {candidate.rust_name})]` above `{model_field.name}`, "
                               f"or remove the field"))
            else:
                removed.append(model_field)
        return removed, doubts

    def unmapped(self, rust_file: RustFile, struct: ModelStruct, status: str,
                 wanted: set[str] | None) -> list[LeftAlone]:
        """Report a struct of a dropped table, or a Queryable loaded with its own select from a changed table."""
        name = struct.table_name
        if wanted is not None and name not in wanted:
            return []
        if (self.before is not None and status in ("missing", "unresolved")
                and self.before.table(name) is not None and self.current.table(name) is None):
            return [LeftAlone(struct.name, struct.path, struct.line, name, (), f"table `{name}` was dropped",
                              f"remove `{struct.name}` and the code that uses it")]
        if struct.table_explicit:
            return []
        found = self.custom_select(struct)
        return [found] if found is not None else []

    def custom_select(self, struct: ModelStruct) -> LeftAlone | None:
        """Report a ``Queryable`` without ``table_name`` that the crate loads with its own ``.select(…)``
        from a table whose columns it names changed (its fields follow that select, not the table)."""
        changed = self.changed_columns()
        if not changed or not struct.derives_any("Queryable"):
            return None
        for load in self.loads():
            columns = changed.get(load.table, {})
            concerned = sorted({f.column for f in struct.fields} & set(columns))
            if load.struct == struct.name and load.selects == "other" and concerned:
                return LeftAlone(struct.name, struct.path, struct.line, load.table, tuple(concerned),
                                 f"it is loaded with its own `.select(…)` at {load.where()}, whose columns "
                                 f"lightnb does not map to fields",
                                 "; ".join(f"`{load.table}.{c}` {columns[c]}" for c in concerned))
        return None

    def loads(self) -> list:
        if self._loads is None:
            self._loads = find_loads(self.src_root, set(self.current.table_names))
        return self._loads


def _special(model_field: ModelField) -> bool:
    return any(k in model_field.options for k in ("embed", "select_expression", "select_expression_type"))


def _uses_column(struct: ModelStruct, model_field: ModelField, table: SchemaTable) -> bool:
    """Return whether a derive of the struct names the field's column (loads it or writes it)."""
    return struct.derives_any("Queryable", "Selectable") or struct_writes_field(struct, model_field, table)


def _missing_columns(struct: ModelStruct, table: SchemaTable, previous: Schema | None,
                     old: SchemaTable | None) -> list[SchemaColumn]:
    """Return the columns a struct lacks (only columns new since ``previous`` when given)."""
    if struct.tuple_struct or any("embed" in f.options or "select_expression" in f.options
                                  for f in struct.fields):
        return []
    if struct.derives_any("Queryable"):
        if not (struct.derives_any("Selectable") or struct.table_explicit):
            return []
        skip: set[str] = set()
    elif struct.derives_any("Insertable", "AsChangeset"):
        skip = {auto_increment_key(table) or ""}
    else:
        return []  # a Selectable-only struct is a chosen subset of columns
    covered = {f.column for f in struct.fields}
    insert_only = not struct.derives_any("Queryable")
    if previous is None:
        # Without the schema before the migration, an insertable that leaves out a nullable column
        # is taken as a choice; a NOT NULL column it lacks needs a value or a default.
        return [c for c in table.columns if c.rust_name not in covered and c.rust_name not in skip
                and not (insert_only and c.nullable)]
    return [c for c in table.columns if c.rust_name not in covered and c.rust_name not in skip
            and old is not None and old.column(c.rust_name) is None]


def _by_hand(added: list[SchemaColumn], removed: list[ModelField], retyped: list[TypeChange],
             doubts: list[tuple[str, str, str]]) -> str:
    parts = [f"add `{field_line(c, indent='', visibility='pub')}`" for c in added]
    parts += [f"remove `{f.name}`" for f in removed]
    parts += [f"change `{r.field}: {r.old}` to `{r.new}` ({r.why})" for r in retyped]
    parts += [hand for _, _, hand in doubts]
    return "; ".join(parts)


def _field_change(rust_file: RustFile, struct: ModelStruct, table: SchemaTable, added: list[SchemaColumn],
                  removed: list[ModelField], retyped: list[TypeChange]) -> ModelChange:
    text = rust_file.text
    indent, visibility = struct_style(struct, text)
    gone = {f.name for f in removed}
    kept = replace(struct, fields=tuple(f for f in struct.fields if f.name not in gone))
    new_fields = []
    for column in added:
        anchor = insertion_anchor(kept, table, column, text)
        new_fields.append(NewField(column.rust_name, field_line(column, indent=indent, visibility=visibility),
                                   anchor.field.name if anchor.field else None, anchor.after))
    return ModelChange(path=_path(rust_file), kind="update_fields" if removed or retyped else "add_fields",
                       struct=struct.name, table=table.rust_name, columns=tuple(c.rust_name for c in added),
                       original=text, guard=text[struct.start_byte:struct.end_byte], fields=tuple(new_fields),
                       module=struct.module, removed=tuple((f.name, f.column) for f in removed),
                       retyped=tuple(retyped))


def _new_struct(files: list[RustFile], models_dir: Path, table: SchemaTable,
                schema_module: tuple[str, ...]) -> ModelChange:
    """Plan the structs of a table no struct maps to, in the file holding most of the models."""
    target = _target_file(files, models_dir, schema_module)
    style = house_style([target] if target.structs else files)  # derives whose imports the file has
    code = generate_for_table(table, style=style)
    use_line = f"use {'::'.join(schema_module + table.module)}::{table.rust_name};"
    original = target.text if target.path is not None and target.path.exists() else ""
    return ModelChange(path=_path(target), kind="new_struct", struct=struct_name_for(table.rust_name),
                       table=table.rust_name, columns=table.column_names, original=original, code=code,
                       use_line=use_line, module=target.module)


def _target_file(files: list[RustFile], models_dir: Path, schema_module: tuple[str, ...]) -> RustFile:
    def imports(rust_file: RustFile) -> int:
        return sum(1 for use in rust_file.uses if use.path[:len(schema_module)] == schema_module)
    if files:
        return max(files, key=lambda f: (imports(f), len(f.structs)))
    path = models_dir if models_dir.suffix == ".rs" else models_dir / "mod.rs"
    return RustFile(path=path, module=("crate", "models"), structs=(), uses=(), text="")


def _path(rust_file: RustFile) -> Path:
    if rust_file.path is None:
        raise ModelDrift("model source has no file to change; read it from a file")
    return rust_file.path


# -- applying ----------------------------------------------------------------------------------


def render_change(change: ModelChange, text: str) -> str:
    """Return ``text`` with the change made, checking that the struct is still as planned.

    :raises ModelDrift: when the struct changed or disappeared since the plan.
    """
    if change.kind == "new_struct":
        return _render_new_struct(change, text)
    rust_file = read_rust(text, path=change.path, module=change.module)
    struct = next((s for s in rust_file.structs if s.name == change.struct), None)
    if struct is None:
        raise ModelDrift(f"struct `{change.struct}` is no longer in {change.path}; "
                         f"run `lightnb models generate` again", path=change.path)
    if text[struct.start_byte:struct.end_byte] != change.guard:
        raise ModelDrift(f"struct `{change.struct}` in {change.path} was edited since the change was "
                         f"planned; nothing was written; run `lightnb models generate` again",
                         path=change.path)
    eol = "\r\n" if "\r\n" in text else "\n"  # new lines end as the file's lines do
    edits: list[tuple[int, int, int, str]] = []  # (start, end, order, text); end == start inserts
    for name, _column in change.removed:
        model_field = struct.field(name)
        if model_field is None:
            raise ModelDrift(f"field `{name}` is no longer in struct `{change.struct}`; run `lightnb models "
                             f"generate` again", path=change.path)
        start, end = removal_span(text, model_field)
        edits.append((start, end, 0, ""))
    for retype in change.retyped:
        model_field = struct.field(retype.field)
        if model_field is None:
            raise ModelDrift(f"field `{retype.field}` is no longer in struct `{change.struct}`; run `lightnb "
                             f"models generate` again", path=change.path)
        edits.append((*model_field.type_span, 0, retype.new))
    for order, new in enumerate(change.fields, start=1):
        anchor = struct.field(new.anchor) if new.anchor else None
        if anchor is None:
            offset = struct.body_span[0] + 1
            edits.append((offset, offset, order, eol + new.line))
            continue
        if new.after:
            if not anchor.has_comma:
                edits.append((anchor.end_byte, anchor.end_byte, -1, ","))
            line_end = text.find("\n", anchor.end_byte)
            offset = len(text) if line_end == -1 else line_end + 1
        else:
            offset = text.rfind("\n", 0, anchor.start_byte) + 1
        edits.append((offset, offset, order, new.line + eol))
    # From the end backwards; at one offset a removal or replacement goes before the insertions there.
    new_text = text
    for start, end, _order, insert in sorted(edits, key=lambda e: (e[0], e[1] > e[0], e[2]), reverse=True):
        new_text = new_text[:start] + insert + new_text[end:]
    _verify(change, text, new_text)
    return new_text


def removal_span(text: str, model_field: ModelField) -> tuple[int, int]:
    """Return the text to delete for a field: its attributes, doc comments, declaration and comma.

    A field on lines of its own goes with those lines (and a comment after it on its last line);
    a field sharing a line with another keeps the other one and its spacing.
    """
    start = model_field.start_byte
    end = model_field.end_byte
    if model_field.has_comma:
        end = text.index(",", end) + 1
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end == -1 else line_end
    rest = text[end:line_end].strip()
    if not text[line_start:start].strip():
        if not rest or rest.startswith("//"):
            return line_start, min(line_end + 1, len(text))
        return start, end + (len(text[end:line_end]) - len(text[end:line_end].lstrip()))
    before = text[line_start:start]
    return start - (len(before) - len(before.rstrip())), end


def _verify(change: ModelChange, old_text: str, new_text: str) -> None:
    """Re-read the rewritten struct; refuse to write text that does not read back as planned."""
    rust_file = read_rust(new_text, path=change.path, module=change.module)
    struct = next((s for s in rust_file.structs if s.name == change.struct), None)
    old = next(s for s in read_rust(old_text, path=change.path, module=change.module).structs
               if s.name == change.struct)
    gone = {name for name, _ in change.removed}
    expected = {f.name for f in old.fields} - gone | {f.column for f in change.fields}
    retyped = {r.field: r.new for r in change.retyped}
    ok = (struct is not None and {f.name for f in struct.fields} == expected
          and all(f is None or " ".join((f.written or f.type).text.split()) == new
                  for f, new in ((struct.field(name), new) for name, new in retyped.items()))
          and len(error_regions(parse_rust(new_text))) <= len(error_regions(parse_rust(old_text))))
    if not ok:
        raise ModelDrift(f"lightnb could not rewrite struct `{change.struct}` in {change.path} as planned; "
                         f"nothing was written; make the change by hand: {change.description}", path=change.path)


def _render_new_struct(change: ModelChange, text: str) -> str:
    rust_file = read_rust(text, path=change.path, module=change.module)
    if any(s.name == change.struct for s in rust_file.structs):
        raise ModelDrift(f"struct `{change.struct}` already exists in {change.path}; "
                         f"nothing was written", path=change.path)
    eol = "\r\n" if "\r\n" in text else "\n"
    if change.use_line and not _imports_table(rust_file, change):
        text = _add_use(text, rust_file, change.use_line, eol)
    if text and not text.endswith("\n"):
        text += eol
    return text + (eol if text else "") + change.code.replace("\n", eol)


def _imports_table(rust_file: RustFile, change: ModelChange) -> bool:
    assert change.use_line is not None
    path = tuple(change.use_line.removeprefix("use ").removesuffix(";").split("::"))
    return any(use.path == path or (use.glob and use.path == path[:-1]) for use in rust_file.uses)


def _add_use(text: str, rust_file: RustFile, use_line: str, eol: str = "\n") -> str:
    """Insert the ``use`` line after the last top-level ``use`` (or at the top)."""
    if not rust_file.uses:
        return use_line + eol + text
    last = max(use.end_line or use.line for use in rust_file.uses)
    offset = 0
    for _ in range(last):  # the start of line `last + 1` (lines end with "\n", as the parser counts them)
        found = text.find("\n", offset)
        if found == -1:
            return text + eol + use_line + eol
        offset = found + 1
    return text[:offset] + use_line + eol + text[offset:]


def apply_change(change: ModelChange) -> Path:
    """Write one planned change to its file; return the file.

    The new text replaces the file in one step (written beside it, then renamed over it), so an
    interrupted write never leaves half a file; the file's permissions are kept.

    :raises ModelDrift: when the struct changed since the plan, or the file cannot be written
        (nothing is written).
    """
    current = read_model_file(change.path)
    new_text = render_change(change, current)
    write_text_atomic(change.path, new_text, what="model file")
    return change.path


def read_model_file(path: Path) -> str:
    """Return the text of a model file lightnb may rewrite ("" when it does not exist yet).

    A model file is Rust source: a ``.rs`` regular file of UTF-8 text. Anything else (a database, a
    folder, a FIFO, binary data) is refused before anything is written.

    :raises FileWriteError: one line naming what the path is instead.
    """
    from lightnb.backends.sqlite import SQLITE_HEADER
    target = real_target(path)

    def refuse(reason: str) -> FileWriteError:
        return FileWriteError(f"Will not write the model file {path}: it {reason}; lightnb writes model structs "
                              f"only into Rust source files — check the models folder (models_dir in "
                              f"lightnb.toml). Nothing was written.", path=path)
    if target.suffix != ".rs":
        raise refuse("is not a .rs file")
    if existing_regular(target, what="model file") is None:
        return ""
    data = target.read_bytes()
    if data.startswith(SQLITE_HEADER):
        raise refuse("is a SQLite database")
    if b"\x00" in data:
        raise refuse("is binary data, not Rust text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise refuse("is not UTF-8 text") from error


__all__ = ["DEFAULT_SCHEMA_MODULE", "HouseStyle", "LeftAlone", "ModelChange", "ModelPlan", "NewField",
           "apply_change", "auto_increment_key", "generate_for_table", "house_style", "plan_model_changes",
           "plan_models", "read_model_file", "removal_span", "render_change", "unified_diff"]
