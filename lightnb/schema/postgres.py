"""print-schema for a PostgreSQL database: diesel_cli's output, byte for byte.

The catalogue is read by :mod:`lightnb.backends.postgres.catalog` (diesel's queries) on a read-only
connection; the text is rendered by :mod:`lightnb.schema.print_schema` like SQLite's. Schema files
are checked structurally (:mod:`lightnb.schema.structure`), so a hand-written file can pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lightnb.backends.postgres.catalog import read_schema
from lightnb.backends.postgres.connect import connect
from lightnb.schema.config import PrintSchemaOptions
from lightnb.schema.model import Schema
from lightnb.schema.print_schema import render

if TYPE_CHECKING:  # the structural comparison loads when a file is checked, not when the schema is printed
    from lightnb.schema.structure import StructureDrift


@dataclass(frozen=True, slots=True)
class PrintedSchema:
    """One configuration's printed schema.

    :param options: the configuration (its ``file`` says where ``migration run`` writes the text).
    :param schema: the records the text was rendered from.
    :param text: the schema.rs text.
    """

    options: PrintSchemaOptions
    schema: Schema
    text: str

    @property
    def warnings(self) -> tuple[str, ...]:
        """Return what diesel prints on stderr for this configuration (e.g. ``varchar[]`` columns)."""
        return self.schema.warnings


def print_schemas_postgres(url: str, configurations: Sequence[PrintSchemaOptions]) -> list[PrintedSchema]:
    """Print every configuration of a PostgreSQL database, in order (diesel_spec.md §4.10).

    :raises ProjectError: for a URL libpq cannot parse.
    :raises ConnectError: when the server cannot be reached or refuses the connection.
    :raises SchemaError: for a table diesel cannot print, or a bad patch file.
    :raises DatabaseError: when a catalogue query fails.
    """
    with connect(url, read_only=True) as conn:
        printed = []
        for options in configurations:
            schema = read_schema(conn, options)
            printed.append(PrintedSchema(options, schema, render(schema, options)))
        return printed


def print_schema_postgres(url: str, options: PrintSchemaOptions | None = None) -> str:
    """Return what ``diesel print-schema`` prints for one configuration of a PostgreSQL database."""
    return print_schemas_postgres(url, [options or PrintSchemaOptions()])[0].text


@dataclass(frozen=True, slots=True)
class SchemaFileCheck:
    """How one configured schema file compares with a PostgreSQL database.

    :param path: the file (``file`` of the configuration).
    :param key: the configuration's name.
    :param identical: the file holds exactly what print-schema prints (line by line).
    :param drift: the structural comparison, or None when the file does not exist.
    """

    path: Path
    key: str
    identical: bool
    drift: StructureDrift | None

    @property
    def in_sync(self) -> bool:
        """Return whether the file matches the database (byte for byte, or structurally)."""
        return self.identical or (self.drift is not None and self.drift.in_sync)

    def lines(self) -> list[str]:
        """Return what a person reads: the verdict, then one line per difference."""
        if self.drift is None:
            return [f"{self.path}: does not exist; write it with `lightnb print-schema > {self.path.name}`"]
        if self.identical:
            return [f"{self.path}: in sync (identical to print-schema)"]
        if self.drift.in_sync:
            return [f"{self.path}: in sync (tables, columns, types, nullability and primary keys match; "
                    f"the text differs from print-schema's)", *self.drift.lines()]
        return [f"{self.path}: out of sync with the database", *self.drift.lines()]


def check_schema_files_postgres(url: str, configurations: Sequence[PrintSchemaOptions]) -> list[SchemaFileCheck]:
    """Compare every configured schema file (``file``) with a PostgreSQL database, structurally.

    A hand-written file passes when its tables, columns, column order, SQL types (diesel's aliases
    folded), nullability and primary keys match, whatever its layout.
    """
    from lightnb.schema.structure import compare_structure
    checks = []
    for printed in print_schemas_postgres(url, [o for o in configurations if o.file is not None]):
        path = printed.options.file
        assert path is not None
        if not path.is_file():
            checks.append(SchemaFileCheck(path, printed.options.key, False, None))
            continue
        text = path.read_text(encoding="utf-8")
        drift = compare_structure(text, printed.schema, path.name)
        checks.append(SchemaFileCheck(path, printed.options.key, text.splitlines() == printed.text.splitlines(),
                                      drift))
    return checks
