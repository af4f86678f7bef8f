"""Where the crate loads a model struct, read from ``src/**/*.rs`` with tree-sitter.

A ``Queryable`` struct is positional: ``users::table.load::<User>(conn)`` needs one field per column
of ``users``, in order, while ``users::table.select(User::as_select()).load(conn)`` needs only the
fields ``Selectable`` names. This module finds the loads whose rows are a whole table, read
positionally: a ``load``/``first``/``get_result``/``get_results`` call typed with the struct (by
turbofish, or by ``let x: Vec<T> = …``/``let x: T = …``) on a query chain that starts at a table
and has no ``.select(…)``. A chain that starts elsewhere (a variable, a function's result) is not
counted: what it selects cannot be seen here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lightnb.models._syntax import node_text, parse_rust, present, walk

if TYPE_CHECKING:
    from tree_sitter import Node

LOADS = {"load": "many", "get_results": "many", "first": "one", "get_result": "one"}
_WRAPPERS = {"unwrap", "expect", "optional", "unwrap_or_default"}
_SKIPPED_DIRS = {"target", ".git"}


@dataclass(frozen=True, slots=True)
class Load:
    """One call that loads rows into a struct.

    :param struct: the struct's name (last segment of its path).
    :param table: the table the chain starts at ('' when it does not start at a table).
    :param selects: ``none`` (whole rows), ``as_select`` (``.select(T::as_select())``) or ``other``.
    """

    struct: str
    table: str
    selects: str
    path: Path
    line: int
    code: str

    @property
    def positional(self) -> bool:
        """Return True when the load reads every column of the table into the struct, in order."""
        return bool(self.table) and self.selects == "none"

    def where(self) -> str:
        """Return ``file:line`` for messages."""
        return f"{self.path}:{self.line}"


def find_loads(src_root: str | Path, tables: set[str]) -> list[Load]:
    """Return every typed load of a struct in the ``.rs`` files below ``src_root``.

    :param tables: the tables' Rust names (a chain starting at ``users`` or ``users::table`` starts there).
    """
    root = Path(src_root)
    if not root.is_dir():
        return []
    found: list[Load] = []
    for path in sorted(root.rglob("*.rs")):
        if any(part in _SKIPPED_DIRS for part in path.relative_to(root).parts):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        found += loads_in(text, path, tables)
    return found


def loads_in(text: str, path: Path, tables: set[str]) -> list[Load]:
    """Return the typed loads of one Rust source text."""
    found = []
    for node in walk(parse_rust(text)):
        if node.type == "call_expression":
            typed = _turbofish(node)
            if typed is not None:
                method, struct = typed
                # _turbofish found call.function (generic_function) and its function (field_expression).
                callee = present(present(node.child_by_field_name("function")).child_by_field_name("function"))
                found.append(_load(callee, struct, path, tables))
        elif node.type == "let_declaration":
            found += _let_load(node, path, tables)
    return [f for f in found if f is not None]


def _turbofish(call: Node) -> tuple[str, str] | None:
    function = call.child_by_field_name("function")
    if function is None or function.type != "generic_function":
        return None
    inner = function.child_by_field_name("function")
    if inner is None or inner.type != "field_expression":
        return None
    method = node_text(inner.child_by_field_name("field"))
    arguments = function.child_by_field_name("type_arguments")
    if method not in LOADS or arguments is None:
        return None
    types = list(arguments.named_children)
    return (method, _last_segment(types[0])) if len(types) == 1 else None


def _let_load(node: Node, path: Path, tables: set[str]) -> list[Load | None]:
    declared, value = node.child_by_field_name("type"), node.child_by_field_name("value")
    if declared is None or value is None:
        return []
    while value.type in ("try_expression", "await_expression") or _wrapped(value):
        value = value.named_children[0] if value.type != "call_expression" else \
            present(present(value.child_by_field_name("function")).child_by_field_name("value"))
    if value.type != "call_expression":
        return []
    function = value.child_by_field_name("function")
    if function is None or function.type != "field_expression":
        return []
    method = node_text(function.child_by_field_name("field"))
    if method not in LOADS:
        return []
    struct = _element(declared, many=LOADS[method] == "many")
    return [_load(function, struct, path, tables)] if struct else []


def _wrapped(node: Node) -> bool:
    """Return True for ``x.unwrap()``-like calls (their receiver is the value)."""
    if node.type != "call_expression":
        return False
    function = node.child_by_field_name("function")
    return function is not None and function.type == "field_expression" and \
        node_text(function.child_by_field_name("field")) in _WRAPPERS


def _element(declared: Node, *, many: bool) -> str:
    """Return the struct a declared type holds: ``Vec<T>`` for many rows, ``T``/``Option<T>`` for one."""
    node = declared
    for _ in range(3):
        if node.type == "generic_type":
            outer = _last_segment(node.child_by_field_name("type"))
            arguments = node.child_by_field_name("type_arguments")
            inner = arguments.named_children[0] if arguments is not None and arguments.named_children else None
            if inner is None:
                return ""
            if outer in ("Vec", "Option", "QueryResult", "Result") and (outer != "Vec" or many):
                node = inner
                many = False if outer == "Vec" else many
                continue
            return ""
        break
    if many:
        return ""
    return _last_segment(node) if node.type in ("type_identifier", "scoped_type_identifier") else ""


def _load(field: Node | None, struct: str, path: Path, tables: set[str]) -> Load | None:
    """Describe the load whose method is the field expression ``field`` (``<chain>.load``)."""
    if field is None or field.type != "field_expression" or not struct:
        return None
    selects, node = "none", field.child_by_field_name("value")
    while node is not None and node.type == "call_expression":
        function = node.child_by_field_name("function")
        if function is not None and function.type == "generic_function":
            function = function.child_by_field_name("function")
        if function is None or function.type != "field_expression":
            break
        if node_text(function.child_by_field_name("field")) == "select":
            arguments = node.child_by_field_name("arguments")
            selects = "as_select" if arguments is not None and node_text(arguments).replace(" ", "") in (
                f"({struct}::as_select())", f"({struct}::as_select(),)") else "other"
        node = function.child_by_field_name("value")
    table = _table_of(node, tables)
    line = field.start_point[0] + 1
    return Load(struct, table, selects, path, line, " ".join(node_text(field.parent).split())[:120])


def _table_of(node: Node | None, tables: set[str]) -> str:
    """Return the table a chain's first expression names (``users::table``, ``users``, ``schema::users::table``)."""
    if node is None:
        return ""
    parts = node_text(node).replace(" ", "").split("::")
    if parts and parts[-1] == "table" and len(parts) >= 2 and parts[-2] in tables:
        return parts[-2]
    if node.type == "identifier" and parts[-1] in tables:
        return parts[-1]
    if len(parts) >= 2 and parts[-1] == parts[-2] and parts[-1] in tables:  # users::dsl::users
        return parts[-1]
    return ""


def _last_segment(node: Node | None) -> str:
    text = node_text(node)
    base = text.split("<", 1)[0]
    return base.rsplit("::", 1)[-1].strip()
