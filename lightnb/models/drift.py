"""Check model structs against schema.rs, telling what is proven wrong from what cannot be proven.

What each derive makes the compiler check (diesel_derives 2.x):

* ``Selectable`` names ``table::column`` for every field: a field without a column cannot
  compile. With ``check_for_backend(Sqlite)`` or ``check_for_backend(Pg)`` every field type must
  load from its column's type by that backend's rules (:mod:`lightnb.models.types`,
  :mod:`lightnb.models.pg_types`). It selects a subset, so a table column without a field is fine.
* ``Insertable`` and ``AsChangeset`` build ``column.eq(value)`` for every field: a field without a
  column, or a value type the column does not accept, cannot compile.
* ``Queryable`` is positional and names no table: it is checked where it is loaded, against the
  columns of that query, which lightnb cannot see. Comparing it with the whole table (missing
  fields, order, types without ``check_for_backend``) is what ``table.load::<T>()`` needs, so
  those findings are reported as *cannot be proven*.

A finding is PROVEN only when the code cannot compile whatever the rest of the crate does.

A region of a model file that does not parse (a tree-sitter ERROR or MISSING node) is reported as
an ``unreadable`` finding that cannot be proven (the parser's grammar may lag rustc), naming the
file and lines: the structs in that region were not checked, so the check is incomplete and
``lightnb models check`` fails on it whatever ``--fail-on`` says. A struct overlapping such a
region is checked, but nothing about it is PROVEN.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from lightnb.models import pg_types
from lightnb.models.fit import as_expression, expected_description, loads_as, rust_type_for
from lightnb.models.mapping import DEFAULT_SCHEMA_MODULE, field_line, insertion_anchor, resolve_table, struct_style
from lightnb.models.modules import ModuleTree
from lightnb.models.pg_types import POSTGRES, backend_of_check
from lightnb.models.rust_reader import (
    ModelField,
    ModelStruct,
    module_path_of,
    parse_type,
    read_models_dir,
    resolve_type_text,
)
from lightnb.models.schema_rs import Schema, for_backend, load_schema
from lightnb.models.types import RustType
from lightnb.models.usage import Load, find_loads

if TYPE_CHECKING:
    from collections.abc import Callable

    from lightnb.models.rust_reader import RustFile
    from lightnb.models.schema_rs import SchemaColumn, SchemaTable

PROVEN = "PROVEN"
UNPROVEN = "UNPROVEN"
UNREADABLE = "unreadable"
FAIL_ON = ("any", "proven")
DEFAULT_FAIL_ON = "proven"
"""What a drift check can fail on: any finding, or only findings that cannot compile."""
_MODEL_DERIVES = ("Queryable", "Selectable", "Insertable", "AsChangeset")
# How alike two table names must be (difflib's ratio) to suggest one for the other: `user` for
# `users` (0.89) or `usage_log` for `usage_logs` (0.95), never `tesla` for `items` (0.6).
TABLE_NAME_SIMILARITY = 0.8


@dataclass(frozen=True, slots=True)
class Finding:
    """One mismatch between a struct and its table.

    :param struct: the struct name.
    :param file: the file holding it.
    :param line: the line the finding is about (the field, or the struct).
    :param field: the field concerned (None for the whole struct).
    :param table: the table name.
    :param column: the column concerned, if any.
    :param kind: ``no_column``, ``wrong_type``, ``missing_field``, ``field_order``, ``no_table``, or
        ``unreadable`` (lines of a file that do not parse; ``struct`` and ``table`` are empty).
    :param proven: True when the code cannot compile; False when it cannot be proven.
    :param message: what is wrong.
    :param fix: the exact change: which line, and the line to write.
    :param why: why it is, or cannot be, proven.
    """

    struct: str
    file: Path | None
    line: int
    field: str | None
    table: str
    column: str | None
    kind: str
    proven: bool
    message: str
    fix: str
    why: str
    positional: bool = False  # only a whole-row, positional load of the struct makes it matter

    @property
    def severity(self) -> str:
        """Return ``PROVEN`` or ``UNPROVEN``."""
        return PROVEN if self.proven else UNPROVEN

    def __str__(self) -> str:
        where = f"{self.file or '<text>'}:{self.line}"
        if self.kind == UNREADABLE:
            return f"{where}: {self.severity}: {self.message}; fix: {self.fix}"
        subject = f"{self.struct}.{self.field}" if self.field else self.struct
        return f"{where}: {self.severity}: {subject}: {self.message}; fix: {self.fix} ({self.why})"


@dataclass(frozen=True, slots=True)
class CheckedStruct:
    """A struct the checker looked at.

    :param status: ``checked`` or ``skipped``.
    :param reason: why it was skipped, or which table it was compared with.
    """

    struct: str
    file: Path | None
    line: int
    derives: tuple[str, ...]
    table: str
    status: str
    reason: str


@dataclass(frozen=True, slots=True)
class DriftReport:
    """What :func:`check_models` found.

    :param findings: every finding, PROVEN ones first, then by file and line.
    :param structs: every struct deriving a Diesel model trait, checked or skipped.
    :param schema_path: the schema.rs read, when read from a file.
    """

    findings: tuple[Finding, ...]
    structs: tuple[CheckedStruct, ...]
    schema_path: Path | None = None

    @property
    def proven(self) -> tuple[Finding, ...]:
        """Return the findings that cannot compile."""
        return tuple(f for f in self.findings if f.proven)

    @property
    def unproven(self) -> tuple[Finding, ...]:
        """Return the findings that cannot be proven."""
        return tuple(f for f in self.findings if not f.proven)

    @property
    def unreadable(self) -> tuple[Finding, ...]:
        """Return the regions of model files that could not be parsed (their structs were not checked)."""
        return tuple(f for f in self.findings if f.kind == UNREADABLE)

    @property
    def clean(self) -> bool:
        """Return whether there is no finding at all."""
        return not self.findings

    @property
    def checked(self) -> tuple[CheckedStruct, ...]:
        """Return the structs compared with a table."""
        return tuple(s for s in self.structs if s.status == "checked")

    def fails(self, fail_on: str = "any") -> bool:
        """Tell whether the report fails a check that fails on ``fail_on``.

        A region that could not be read fails either way: its structs were not checked, so a
        pass would claim more than was seen.

        :param fail_on: ``"any"`` (every finding fails) or ``"proven"`` (only findings that cannot compile).
        :raises ValueError: for any other value.
        """
        if fail_on not in FAIL_ON:
            raise ValueError(f"fail_on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
        return bool(self.proven + self.unreadable if fail_on == "proven" else self.findings)

    def count_checked(self, *derives: str) -> int:
        """Return how many checked structs derive any of ``derives`` (all when none given)."""
        return sum(1 for s in self.checked if not derives or any(d in s.derives for d in derives))

    def __str__(self) -> str:
        lines = [str(f) for f in self.findings]
        lines.append(f"{len(self.checked)} structs checked, {len(self.structs) - len(self.checked)} skipped: "
                     f"{len(self.proven)} proven drift(s), {len(self.unproven)} that cannot be proven"
                     + (f"; {len(self.unreadable)} region(s) could not be read, so the check is incomplete"
                        if self.unreadable else ""))
        return "\n".join(lines)


def check_models(models_dir: str | Path, schema: str | Path | Schema, *,
                 schema_module: tuple[str, ...] | None = None,
                 src_root: Path | None = None, backend: str | None = None) -> DriftReport:
    """Check every model struct below ``models_dir`` against schema.rs.

    :param models_dir: the models folder (or one file).
    :param schema: a path to schema.rs, its text, or a parsed :class:`Schema`.
    :param schema_module: the Rust module of schema.rs (default: from its path below ``src``,
        else ``crate::schema``).
    :param src_root: the crate's ``src`` folder (default: the parent of ``models_dir``).
    :param backend: ``sqlite`` or ``postgres``, whose type rules apply (default: told from schema.rs).
    :raises ModelDrift: when the models folder or the schema file is missing.
    """
    parsed = schema if isinstance(schema, Schema) else load_schema(schema, backend=backend)
    if backend is not None and parsed.backend != backend:
        parsed = for_backend(parsed, backend)
    models_dir = Path(models_dir)
    src_root = src_root or models_dir.parent
    files = read_models_dir(models_dir, src_root=src_root)
    module = schema_module or _schema_module(parsed, src_root)
    report = check_files(files, parsed, schema_module=module, src_root=src_root)
    return judge_by_loads(report, find_loads(src_root, set(parsed.table_names)))


def judge_by_loads(report: DriftReport, loads: list[Load]) -> DriftReport:
    """Keep positional findings only for structs the crate loads positionally, citing where.

    A ``Queryable`` struct with a subset of the columns is valid when it is loaded through
    ``.select(T::as_select())``; what a positional ``users::table.load::<T>()`` needs (every column,
    in order, of loadable types) matters only where such a load exists. There a missing field or a
    type that does not load cannot compile (PROVEN); fields out of order compile when the types
    line up, and then read the wrong columns.
    """
    kept: list[Finding] = []
    for finding in report.findings:
        if not finding.positional:
            kept.append(finding)
            continue
        sites = [load for load in loads if load.struct == finding.struct and load.positional
                 and load.table == finding.table]
        if not sites:
            continue
        site = sites[0]
        more = f" (and {len(sites) - 1} more)" if len(sites) > 1 else ""
        why = f"`{site.code}` at {site.where()}{more} loads every column of `{finding.table}` positionally"
        proven = finding.kind in ("missing_field", "wrong_type") and "; but " not in finding.why
        kept.append(replace(finding, proven=proven or finding.proven, why=why,
                            message=f"{finding.message} (loaded positionally at {site.where()})"))
    kept.sort(key=lambda f: (not f.proven, str(f.file), f.line))
    return replace(report, findings=tuple(kept))


def _schema_module(schema: Schema, src_root: Path) -> tuple[str, ...]:
    if schema.path is not None:
        module = module_path_of(schema.path, src_root)
        if module != ("crate", schema.path.stem) or schema.path.resolve().parent == src_root.resolve():
            return module
    return DEFAULT_SCHEMA_MODULE


def check_files(files: list[RustFile], schema: Schema, *,
                schema_module: tuple[str, ...] = DEFAULT_SCHEMA_MODULE,
                src_root: Path | None = None) -> DriftReport:
    """Check the structs of already-read Rust files (see :func:`check_models`).

    :param src_root: the crate's ``src`` folder, to read ``mod`` declarations of parent modules
        (``main.rs``, ``lib.rs``, ``models.rs``) that are not among ``files``.
    """
    findings: list[Finding] = []
    structs: list[CheckedStruct] = []
    modules = ModuleTree(files, src_root)
    for rust_file in files:
        unreachable = modules.why_not_compiled(rust_file)
        findings.extend(_unreadable(rust_file))
        for struct in rust_file.structs:
            if not struct.derives_any(*_MODEL_DERIVES):
                continue
            broken = _overlap(rust_file, struct)
            doubt = unreachable or (
                "a #[cfg]/#[cfg_attr] attribute decides whether or how it is compiled" if struct.conditional
                else f"lines {broken[0]}-{broken[1]} of its file do not parse, so it may be read incompletely"
                if broken else None)
            found, record = check_struct(struct, schema, rust_file.text, schema_module=schema_module,
                                         doubt=doubt)
            findings.extend(found)
            structs.append(record)
    findings.sort(key=lambda f: (not f.proven, str(f.file), f.line))
    return DriftReport(tuple(findings), tuple(structs), schema.path)


def _unreadable(rust_file: RustFile) -> list[Finding]:
    """Return one finding per region of the file that does not parse."""
    out = []
    for first, last in rust_file.unreadable:
        lines = f"line {first}" if first == last else f"lines {first}-{last}"
        out.append(Finding(
            "", rust_file.path, first, None, "", None, UNREADABLE, False,
            f"{lines} could not be read (Rust syntax error); structs in that region were not checked",
            "correct the syntax there (`cargo check` names the error), then run the check again",
            "lightnb's Rust parser could not read it; rustc may or may not accept it"))
    return out


def _overlap(rust_file: RustFile, struct: ModelStruct) -> tuple[int, int] | None:
    """Return the unreadable region that overlaps the struct's lines, if any."""
    if not rust_file.unreadable:
        return None
    first = rust_file.text.count("\n", 0, struct.start_byte) + 1
    last = rust_file.text.count("\n", 0, struct.end_byte) + 1
    return next(((a, b) for a, b in rust_file.unreadable if a <= last and b >= first), None)


def check_struct(struct: ModelStruct, schema: Schema, text: str, *,
                 schema_module: tuple[str, ...] = DEFAULT_SCHEMA_MODULE, doubt: str | None = None
                 ) -> tuple[list[Finding], CheckedStruct]:
    """Check one struct; return its findings and how it was handled.

    :param doubt: why the struct may not be compiled as read (then nothing is PROVEN).
    """
    record = _record(struct)
    queryable_only = not struct.derives_any("Selectable", "Insertable", "AsChangeset")
    if queryable_only and not struct.table_explicit:
        return [], record("skipped", "derives Queryable only, without table_name: it is loaded from a "
                                     "query whose columns cannot be seen here")
    match = resolve_table(struct, schema, schema_module)
    if match.status == "other":
        return [], record("skipped", f"table `{'::'.join(match.path or ())}` is not in the schema module "
                                     f"`{'::'.join(schema_module)}` being checked")
    if match.status == "missing":
        proven = not queryable_only and doubt is None and schema.complete
        finding = _no_table(struct, schema, proven=proven)
        if not proven and not queryable_only:
            finding = replace(finding, why=doubt or "schema.rs has items besides table! blocks (a re-export, "
                                                    "an include!) that may define the table")
        return [finding], record("checked", f"no table `{struct.table_name}`")
    if match.table is None:
        return [], record("skipped", f"table `{struct.table_name}` is neither imported from "
                                     f"`{'::'.join(schema_module)}` nor in schema.rs")
    certain = match.status == "schema"
    if not certain:
        doubt = "the table path was not traced to the schema module"
    check = _StructCheck(struct, match.table, text, doubt)
    return check.run(), record("checked", f"table `{match.table.rust_name}`"
                                          + ("" if certain else " (path not traced to the schema module)"))


def _record(struct: ModelStruct) -> Callable[[str, str], CheckedStruct]:
    def make(status: str, reason: str) -> CheckedStruct:
        return CheckedStruct(struct.name, struct.path, struct.line, struct.derives, struct.table_name,
                             status, reason)
    return make


def similar_names(name: str, candidates: list[str] | tuple[str, ...]) -> list[str]:
    """Return the candidates close enough to ``name`` to be a typo of it, best first.

    Close means: difflib's ratio at least :data:`TABLE_NAME_SIMILARITY`, or one edit away (two for
    names of eight letters or more) — ``bedz``/``beds`` yes, ``items``/``tesla`` no.
    """
    def edits(a: str, b: str) -> int:
        row = list(range(len(b) + 1))
        for i, x in enumerate(a, 1):
            previous, row[0] = row[0], i
            for j, y in enumerate(b, 1):
                previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
        return row[-1]

    def close(candidate: str) -> bool:
        if difflib.SequenceMatcher(None, name, candidate).ratio() >= TABLE_NAME_SIMILARITY:
            return True
        distance = edits(name.lower(), candidate.lower())
        return len(name) >= 3 and (distance <= 1 or (distance <= 2 and len(name) >= 8))

    found = [c for c in candidates if close(c)]
    return sorted(found, key=lambda c: -difflib.SequenceMatcher(None, name, c).ratio())


def _no_table(struct: ModelStruct, schema: Schema, *, proven: bool) -> Finding:
    close = similar_names(struct.table_name, schema.table_names)
    fix = (f"change `table_name = {struct.table_name}` to `table_name = {close[0]}`" if close
           else "run the migration that creates the table and regenerate schema.rs, or remove the struct")
    return Finding(struct.name, struct.path, struct.line, None, struct.table_name, None, "no_table", proven,
                   f"table `{struct.table_name}` is not in schema.rs", fix,
                   "the derive names the table module" if proven else "Queryable does not name its table")


@dataclass
class _StructCheck:
    """The rules for one struct against one table."""

    struct: ModelStruct
    table: SchemaTable
    text: str
    doubt: str | None
    findings: list[Finding] = field(default_factory=list)
    renamed_to: set[str] = field(default_factory=set)  # columns a no_column fix already proposes

    def run(self) -> list[Finding]:
        struct = self.struct
        selectable = struct.derives_any("Selectable")
        writes = struct.derives_any("Insertable", "AsChangeset")
        for model_field in struct.fields:
            self._check_field(model_field, selectable=selectable, writes=writes)
        if struct.derives_any("Queryable") and (selectable or struct.table_explicit):
            self._check_row()
        return self.findings

    # -- per field -----------------------------------------------------------------------------

    def _check_field(self, model_field: ModelField, *, selectable: bool, writes: bool) -> None:
        options = model_field.options
        if "embed" in options or "select_expression" in options or "select_expression_type" in options:
            return
        writes_this = writes and struct_writes_field(self.struct, model_field, self.table)
        if not (selectable or writes_this or self.struct.derives_any("Queryable")):
            return
        column = self.table.column(model_field.column)
        if column is None:
            self._no_column(model_field, proven=selectable or writes_this)
            return
        self._check_type(model_field, column, selectable=selectable, writes=writes_this)

    def _no_column(self, model_field: ModelField, *, proven: bool) -> None:
        line = self._line_text(model_field.line).strip()
        fix = (f"remove line {model_field.line} `{line}`, or add the column "
               f"`{self.table.rust_name}.{model_field.column}` in a migration")
        candidate = self._mapping_candidate(model_field)
        if candidate is not None:
            self.renamed_to.add(candidate.rust_name)
            fix += (f"; or, if the field holds `{self.table.rust_name}.{candidate.rust_name}`, add "
                    f"`#[diesel(column_name = {candidate.rust_name})]` above line {model_field.line}")
        why = ("the derive names every field's column" if proven
               else "Queryable does not name columns; it may be loaded from another query")
        self._add(model_field.line, model_field.name, model_field.column, "no_column", proven,
                  f"field `{model_field.name}` has no column `{self.table.rust_name}.{model_field.column}`",
                  fix, why, positional=not proven)

    def _mapping_candidate(self, model_field: ModelField) -> SchemaColumn | None:
        """Return the one obvious column the field may be meant for, or None.

        Obvious means: a column no other field maps, whose type fits the field, and whose name is
        close to the field's; or, for a struct with one field per column, the column in the same
        place of the row.
        """
        used = {f.column for f in self.struct.fields}
        free = [c for c in self.table.columns if c.rust_name not in used and self._fits(model_field, c)]
        by_name = {c.rust_name: c for c in free}
        close = difflib.get_close_matches(model_field.column, list(by_name), n=2, cutoff=0.6)
        if len(close) == 1 or (len(close) == 2 and difflib.SequenceMatcher(None, model_field.column, close[0])
                                .ratio() > difflib.SequenceMatcher(None, model_field.column, close[1]).ratio()):
            return by_name[close[0]]
        position = self.struct.fields.index(model_field)
        if len(self.struct.fields) == len(self.table.columns) and self.struct.derives_any("Queryable"):
            same_place = self.table.columns[position]
            if same_place.rust_name in by_name:
                return same_place
        return None

    def _fits(self, model_field: ModelField, column: SchemaColumn) -> bool:
        """Return whether the field's type is known to load from and write to the column."""
        verdicts: list[bool | None] = []
        if self.struct.derives_any("Queryable", "Selectable"):
            verdicts.append(loads_as(model_field.type, column.sql_type))
        if self.struct.derives_any("Insertable", "AsChangeset"):
            verdicts.extend(as_expression(v, column.sql_type)
                            for v in bound_values(self.struct, model_field, self.table))
        return bool(verdicts) and all(v is True for v in verdicts)

    def _check_type(self, model_field: ModelField, column: SchemaColumn, *,
                    selectable: bool, writes: bool) -> None:
        loaded = model_field.type
        if "deserialize_as" in model_field.options:
            loaded = resolve_type_text(self.struct, model_field.options["deserialize_as"])
        loading = self.struct.derives_any("Queryable", "Selectable")
        # check_for_backend(B) makes every field type FromSqlRow<column type, B>, judged by B's rules
        checked = [(path, backend) for path in self.struct.check_for_backend
                   if (backend := backend_of_check(path)) is not None] if selectable and loading else []
        refused = next((path for path, backend in checked if loads_as(loaded, column.sql_type, backend) is False),
                       None)
        load_ok = loads_as(loaded, column.sql_type) if loading else None
        write_ok = None
        values = bound_values(self.struct, model_field, self.table) if writes else []
        if writes:
            verdicts = [as_expression(value, column.sql_type) for value in values]
            write_ok = False if False in verdicts else (True if verdicts and all(verdicts) else None)
        if write_ok is False:
            expected = expected_description(column.sql_type, writing=True)
            self._wrong_type(model_field, column, proven=True, expected=expected,
                             why="Insertable/AsChangeset needs the value type to fit the column")
        elif refused is not None:
            self._wrong_type(model_field, column, proven=True, expected=expected_description(column.sql_type),
                             why=f"check_for_backend({refused}) checks every field type")
        elif load_ok is False:
            self._wrong_type(model_field, column, proven=False, positional=True,
                             expected=expected_description(column.sql_type),
                             why="without check_for_backend the type is checked only where the struct "
                                 "is loaded")
        elif write_ok and column.sql_type.backend == POSTGRES and any(
                pg_types.binds(value, column.sql_type) is False for value in values):
            self._wrong_type(model_field, column, proven=False, expected=expected_description(column.sql_type,
                                                                                              writing=True),
                             why="the derive compiles (another feature of diesel makes the value AsExpression "
                                 "for the column's type), but PostgreSQL has no ToSql for it: the insert or update "
                                 "on a PgConnection cannot compile")

    def _wrong_type(self, model_field: ModelField, column: SchemaColumn, *, proven: bool, expected: str,
                    why: str, positional: bool = False) -> None:
        start, end = model_field.type_span
        line_start = self.text.rfind("\n", 0, start) + 1
        line_end = self.text.find("\n", end)
        line_end = len(self.text) if line_end == -1 else line_end
        new_line = (self.text[line_start:start] + rust_type_for(column.sql_type)
                    + self.text[end:line_end]).strip()
        self._add(model_field.line, model_field.name, column.rust_name, "wrong_type", proven,
                  f"field `{model_field.name}: {model_field.type.text}` does not fit column "
                  f"`{self.table.rust_name}.{column.rust_name} -> {column.diesel_type}` (expected {expected})",
                  f"change line {model_field.line} to `{new_line}`", why, positional=positional)

    # -- whole row -----------------------------------------------------------------------------

    def _check_row(self) -> None:
        struct = self.struct
        if struct.tuple_struct or any("embed" in f.options or "select_expression" in f.options
                                      or "select_expression_type" in f.options for f in struct.fields):
            return
        why = (f"Queryable is positional: `{self.table.rust_name}::table.load::<{struct.name}>()` "
               "needs every column in order, "
               f"while `.select({struct.name}::as_select())` does not")
        covered = {f.column for f in struct.fields}
        indent, visibility = struct_style(struct, self.text)
        for column in self.table.columns:
            if column.rust_name in covered or column.rust_name in self.renamed_to:
                continue
            anchor = insertion_anchor(struct, self.table, column, self.text)
            where = f"after line {anchor.line}" if anchor.after else f"before line {anchor.line}"
            self._add(anchor.line, column.rust_name, column.rust_name, "missing_field", False,
                      f"no field for column `{self.table.rust_name}.{column.rust_name} -> "
                      f"{column.diesel_type}`",
                      f"add `{field_line(column, indent='', visibility=visibility)}` {where}", why,
                      line_override=struct.line, positional=True)
        order = [f for f in struct.fields if self.table.column(f.column) is not None]
        expected = sorted(order, key=lambda f: self.table.column_names.index(f.column))
        if [f.name for f in order] != [f.name for f in expected]:
            first = next(a for a, b in zip(order, expected) if a.name != b.name)
            self._add(first.line, first.name, first.column, "field_order", False,
                      "fields are not in the table's column order",
                      "order the fields as " + ", ".join(f.name for f in expected), why, positional=True)

    def _add(self, line: int, field_name: str | None, column: str | None, kind: str, proven: bool,
             message: str, fix: str, why: str, *, line_override: int | None = None,
             positional: bool = False) -> None:
        if proven and self.doubt:
            proven = False
            why = f"{why}; but {self.doubt}"
        self.findings.append(Finding(
            self.struct.name, self.struct.path, line_override or line, field_name, self.table.rust_name,
            column, kind, proven, message, fix, why, positional and not proven))

    def _line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""


def struct_writes_field(struct: ModelStruct, model_field: ModelField, table: SchemaTable) -> bool:
    """Return whether Insertable/AsChangeset name this field's column.

    AsChangeset skips the primary-key fields (``id`` by default); ``skip_insertion`` and
    ``skip_update`` opt fields out.
    """
    insertable = struct.derives_any("Insertable") and "skip_insertion" not in model_field.options
    changeset = (struct.derives_any("AsChangeset") and "skip_update" not in model_field.options
                 and model_field.column not in _primary_key(struct, table))
    return insertable or changeset


def _primary_key(struct: ModelStruct, table: SchemaTable) -> tuple[str, ...]:
    declared = struct.options.get("primary_key")
    if declared:
        return tuple(part.strip() for part in declared.split(",") if part.strip())
    return ("id",)


def bound_values(struct: ModelStruct, model_field: ModelField, table: SchemaTable) -> list[RustType]:
    """Return the types Insertable/AsChangeset bind to the field's column (each must be AsExpression).

    Follows diesel_derives: a field written ``Option<T>`` (by its last segment) binds ``T`` and
    means "skip" when None, unless ``treat_none_as_default_value = false`` (Insertable) or
    ``treat_none_as_null = true`` (AsChangeset), field-level before struct-level. Both derives also
    implement the trait for ``&Struct``, binding ``&T``, except when ``serialize_as`` is used.
    """
    values: list[RustType] = []
    options = model_field.options
    written = model_field.written or model_field.type
    serialize_as = options.get("serialize_as")
    if struct.derives_any("Insertable") and "skip_insertion" not in options and "embed" not in options:
        skip_none = _flag(options, struct.options, "treat_none_as_default_value", default=True)
        values.extend(_values(model_field, written, serialize_as, struct, unwrap=skip_none))
    if (struct.derives_any("AsChangeset") and "skip_update" not in options and "embed" not in options
            and model_field.column not in _primary_key(struct, table)):
        none_as_null = _flag(options, struct.options, "treat_none_as_null", default=False)
        values.extend(_values(model_field, written, serialize_as, struct,
                              unwrap=not none_as_null and written.is_option))
    return values


def _values(model_field: ModelField, written: RustType, serialize_as: str | None, struct: ModelStruct, *,
            unwrap: bool) -> list[RustType]:
    if serialize_as is not None:  # `Into::<S>::into(...)`; no impl for &Struct
        written_as = parse_type(serialize_as)
        resolved = resolve_type_text(struct, serialize_as)
        if unwrap and written_as.is_option:  # diesel's inner_of_option_ty(S)
            return [resolved.args[0]] if resolved.args else []
        return [resolved]
    value = model_field.type
    if unwrap and written.is_option:
        if not value.args:
            return []
        value = value.args[0]
    return [value, RustType(("&",), (value,), "&" + value.text)]


def _flag(field_options: dict[str, str], struct_options: dict[str, str], name: str, *, default: bool) -> bool:
    value = field_options.get(name, struct_options.get(name))
    if value is None:
        return default
    return value.strip() == "true"
