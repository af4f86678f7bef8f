"""Generate model structs and the fields a new column needs, as planned changes (plan, then apply).

A :class:`ModelChange` is computed against a file as it is now and shown as a unified diff.
Applying it is an explicit step that touches only the struct concerned (or appends a new one):
if that struct was edited since the plan, nothing is written and the plan must be made again.
Changes only ever add lines; hand-written lines are never rewritten.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lightnb.errors import FileWriteError, ModelDrift
from lightnb.files import existing_regular, real_target, write_text_atomic
from lightnb.models.drift import _schema_module
from lightnb.models.mapping import DEFAULT_SCHEMA_MODULE, field_line, insertion_anchor, resolve_table, struct_style
from lightnb.models.naming import struct_name_for
from lightnb.models.rust_reader import ModelStruct, RustFile, read_models_dir, read_rust
from lightnb.models.schema_rs import Schema, SchemaTable, load_schema

if TYPE_CHECKING:
    from collections.abc import Iterable

_ROW_DERIVES = ("Queryable", "Selectable", "Insertable")
_BACKEND = "diesel::sqlite::Sqlite"


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
    :param kind: ``add_fields`` (columns added to a table) or ``new_struct`` (a new table).
    :param struct: the struct changed, or the first struct created.
    :param table: the table concerned.
    :param columns: the columns the change adds.
    :param original: the file text the plan was made from.
    :param guard: the struct's text when planned (``add_fields``).
    :param fields: the field lines to add (``add_fields``).
    :param code: the code to append (``new_struct``).
    :param use_line: the ``use`` line the new struct needs, if any (``new_struct``).
    :param module: the module of the struct, to find it again when applying.
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
        return f"add {', '.join(self.columns)} to struct `{self.struct}` in {self.path}"


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
        lines.append(f"#[diesel(check_for_backend({_BACKEND}))]")
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


def plan_model_changes(models_dir: str | Path, schema: str | Path | Schema, *,
                       previous: str | Path | Schema | None = None, tables: Iterable[str] | None = None,
                       schema_module: tuple[str, ...] | None = None,
                       src_root: Path | None = None) -> list[ModelChange]:
    """Plan the model changes schema.rs calls for: fields for new columns, structs for new tables.

    :param models_dir: the models folder (or one file).
    :param schema: schema.rs now (path, text or :class:`Schema`).
    :param previous: schema.rs before the migration; when given, only what it lacks is planned.
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
    changes: list[ModelChange] = []
    mapped: set[str] = set()
    for rust_file in files:
        for struct in rust_file.structs:
            if not struct.derives_any("Queryable", "Selectable", "Insertable", "AsChangeset"):
                continue
            match = resolve_table(struct, current, module)
            if match.status != "schema" or match.table is None:
                continue
            mapped.add(match.table.rust_name)
            if wanted is not None and match.table.rust_name not in wanted:
                continue
            change = _add_fields(rust_file, struct, match.table, before)
            if change is not None:
                changes.append(change)
    for table in current.tables:
        if table.rust_name in mapped or (wanted is not None and table.rust_name not in wanted):
            continue
        if before is not None and before.table(table.rust_name, table.module) is not None:
            continue
        changes.append(_new_struct(files, models_dir, table, module))
    return changes


def _add_fields(rust_file: RustFile, struct: ModelStruct, table: SchemaTable,
                previous: Schema | None) -> ModelChange | None:
    """Plan the fields a struct lacks (only columns new since ``previous`` when given)."""
    if struct.tuple_struct or any("embed" in f.options or "select_expression" in f.options
                                  for f in struct.fields):
        return None
    if struct.derives_any("Queryable"):
        if not (struct.derives_any("Selectable") or struct.table_explicit):
            return None
        skip: set[str] = set()
    elif struct.derives_any("Insertable", "AsChangeset"):
        skip = {auto_increment_key(table) or ""}
    else:
        return None  # a Selectable-only struct is a chosen subset of columns
    old = previous.table(table.rust_name, table.module) if previous is not None else None
    covered = {f.column for f in struct.fields}
    insert_only = not struct.derives_any("Queryable")
    if previous is None:
        # Without the schema before the migration, an insertable that leaves out a nullable column
        # is taken as a choice; a NOT NULL column it lacks needs a value or a default.
        missing = [c for c in table.columns if c.rust_name not in covered and c.rust_name not in skip
                   and not (insert_only and c.nullable)]
    else:
        missing = [c for c in table.columns if c.rust_name not in covered and c.rust_name not in skip
                   and old is not None and old.column(c.rust_name) is None]
    if not missing:
        return None
    text = rust_file.text
    indent, visibility = struct_style(struct, text)
    new_fields = []
    for column in missing:
        anchor = insertion_anchor(struct, table, column, text)
        new_fields.append(NewField(column.rust_name, field_line(column, indent=indent, visibility=visibility),
                                   anchor.field.name if anchor.field else None, anchor.after))
    return ModelChange(path=_path(rust_file), kind="add_fields", struct=struct.name, table=table.rust_name,
                       columns=tuple(c.rust_name for c in missing), original=text,
                       guard=text[struct.start_byte:struct.end_byte], fields=tuple(new_fields),
                       module=struct.module)


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
    inserts: list[tuple[int, int, str]] = []  # (offset, order, text)
    for order, new in enumerate(change.fields):
        anchor = struct.field(new.anchor) if new.anchor else None
        if anchor is None:
            offset = struct.body_span[0] + 1
            inserts.append((offset, order, "\n" + new.line))
            continue
        if new.after:
            if not anchor.has_comma:
                inserts.append((anchor.end_byte, -1, ","))
            line_end = text.find("\n", anchor.end_byte)
            offset = len(text) if line_end == -1 else line_end + 1
        else:
            offset = text.rfind("\n", 0, anchor.start_byte) + 1
        inserts.append((offset, order, new.line + "\n"))
    for offset, _, insert in sorted(inserts, key=lambda item: (item[0], item[1]), reverse=True):
        text = text[:offset] + insert + text[offset:]
    return text


def _render_new_struct(change: ModelChange, text: str) -> str:
    rust_file = read_rust(text, path=change.path, module=change.module)
    if any(s.name == change.struct for s in rust_file.structs):
        raise ModelDrift(f"struct `{change.struct}` already exists in {change.path}; "
                         f"nothing was written", path=change.path)
    if change.use_line and not _imports_table(rust_file, change):
        text = _add_use(text, rust_file, change.use_line)
    if text and not text.endswith("\n"):
        text += "\n"
    return text + ("\n" if text else "") + change.code


def _imports_table(rust_file: RustFile, change: ModelChange) -> bool:
    assert change.use_line is not None
    path = tuple(change.use_line.removeprefix("use ").removesuffix(";").split("::"))
    return any(use.path == path or (use.glob and use.path == path[:-1]) for use in rust_file.uses)


def _add_use(text: str, rust_file: RustFile, use_line: str) -> str:
    """Insert the ``use`` line after the last top-level ``use`` (or at the top)."""
    if not rust_file.uses:
        return use_line + "\n" + text
    last = max(use.end_line or use.line for use in rust_file.uses)
    lines = text.splitlines(keepends=True)
    if lines[last - 1] and not lines[last - 1].endswith("\n"):
        lines[last - 1] += "\n"
    lines.insert(last, use_line + "\n")
    return "".join(lines)


def apply_change(change: ModelChange) -> Path:
    """Write one planned change to its file; return the file.

    :raises ModelDrift: when the struct changed since the plan (nothing is written).
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
    from lightnb.dbfile import SQLITE_HEADER
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


__all__ = ["DEFAULT_SCHEMA_MODULE", "HouseStyle", "ModelChange", "NewField", "apply_change", "read_model_file",
           "auto_increment_key", "generate_for_table", "house_style", "plan_model_changes",
           "render_change", "unified_diff"]
