"""``lightnb print-schema`` on a PostgreSQL database (``postgres://`` / ``postgresql://`` URLs)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from lightnb.errors import ProjectError
from lightnb.project import Project
from lightnb.schema.config import DEFAULT_STYLE, FlagGroup, options_from_flags
from lightnb.schema.postgres import check_schema_files_postgres, print_schemas_postgres


def print_schema_postgres(url: str | None, project: Project, groups: Sequence[FlagGroup], *, style: str = "auto",
                          check: bool = False, fresh: bool = False) -> int:
    """Print every configuration's schema of the database at ``url``, like ``diesel print-schema``.

    With ``check``, compare each configured schema file with the database instead (structurally);
    with ``fresh`` too, with a throw-away database built by the project's migrations.
    """
    configurations = options_from_flags(project.print_schema, project.config_dir, groups,
                                        style=DEFAULT_STYLE if style == "auto" else style)
    if not check:
        if url is None:
            raise ProjectError("No database given: pass --database-url postgres://…, or set DATABASE_URL.")
        printed = print_schemas_postgres(url, configurations)
        for schema in printed:
            for warning in schema.warnings:
                print(warning, file=sys.stderr)
        sys.stdout.write("".join(schema.text for schema in printed))
        return 0
    if not any(o.file is not None for o in configurations):
        print("No schema file is configured: add `file = \"src/schema.rs\"` to [print_schema] in diesel.toml.")
        return 1
    if fresh:
        from lightnb.backends.postgres.scratch import replayed_database
        with replayed_database(project.migrations_dir) as scratch:
            checks = check_schema_files_postgres(scratch, configurations)
    else:
        if url is None:
            raise ProjectError("No database given: pass --database-url postgres://…, or set DATABASE_URL.")
        checks = check_schema_files_postgres(url, configurations)
    for result in checks:
        print("\n".join(result.lines()))
    return 0 if all(result.in_sync for result in checks) else 1
