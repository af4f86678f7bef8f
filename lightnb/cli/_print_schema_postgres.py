"""``lightnb print-schema`` on a PostgreSQL database (``postgres://`` / ``postgresql://`` URLs)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from lightnb.errors import ProjectError
from lightnb.project import Project
from lightnb.schema.config import DEFAULT_STYLE, FlagGroup, options_from_flags
from lightnb.schema.postgres import print_schemas_postgres


def print_schema_postgres(url: str, project: Project, groups: Sequence[FlagGroup], *, style: str = "auto",
                          check: bool = False, fresh: bool = False) -> int:
    """Print every configuration's schema of the database at ``url``, like ``diesel print-schema``."""
    if check or fresh:
        raise ProjectError("print-schema --check and --fresh do not read PostgreSQL databases yet; "
                           "compare the printed schema with your schema file instead.")
    configurations = options_from_flags(project.print_schema, project.config_dir, groups,
                                        style=DEFAULT_STYLE if style == "auto" else style)
    printed = print_schemas_postgres(url, configurations)
    for schema in printed:
        for warning in schema.warnings:
            print(warning, file=sys.stderr)
    sys.stdout.write("".join(schema.text for schema in printed))
    return 0
