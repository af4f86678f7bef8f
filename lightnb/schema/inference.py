"""Backend-neutral print-schema rules: which tables ``allow_tables_to_appear_in_same_query!`` groups.

Mirrors diesel_cli's ``print_schema.rs`` (``foreign_key_table_groups``; diesel_spec.md §4.8).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from lightnb.schema.model import ForeignKey, Table


def table_groups(tables: Sequence[Table], joinables: Sequence[ForeignKey], mode: str) -> list[tuple[str, ...]]:
    """Return the Rust table names of each ``allow_tables_to_appear_in_same_query!`` invocation.

    :param mode: ``all_tables`` (one group), ``fk_related_tables`` (tables joined by the printed
        ``joinable!`` lines, as connected components) or ``none``.
    """
    if mode == "none":
        return []
    if mode == "all_tables":
        groups = [[(t.sql_name, t.rust_name) for t in tables]]
    else:
        groups = _components(tables, joinables)
    return [tuple(rust for _sql, rust in group) for group in groups if len(group) >= 2]


def _components(tables: Sequence[Table], joinables: Sequence[ForeignKey]) -> list[list[tuple[str, str]]]:
    parent = {t.sql_name: t.sql_name for t in tables}

    def find(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for record in joinables:
        parent[find(record.child_table)] = find(record.parent_table)
    members: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for table in tables:
        members[find(table.sql_name)].append((table.sql_name, table.rust_name))
    return sorted(sorted(group) for group in members.values())
