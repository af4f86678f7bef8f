"""print-schema for a PostgreSQL database: diesel_cli's output, byte for byte.

The catalogue is read by :mod:`lightnb.backends.postgres.catalog` (diesel's queries) on a read-only
connection; the text is rendered by :mod:`lightnb.schema.print_schema` like SQLite's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lightnb.backends.postgres.catalog import read_schema
from lightnb.backends.postgres.connect import connect
from lightnb.schema.config import PrintSchemaOptions
from lightnb.schema.model import Schema
from lightnb.schema.print_schema import render


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
