"""Read how a project's existing repository functions update rows, so generated ones match.

From every ``fn`` below ``src`` that calls ``diesel::update(...)`` (read with tree-sitter) this
learns, per table, the key the updates filter on (``.filter(t::user_id.eq(user_id))`` or
``t::table.find(id)``) with its parameter, the columns every update also sets to the same value
(``t::updated_at.eq(now)``, with the parameter that value comes from), and, for the whole
project, the return type of functions ending in ``.execute(conn)``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lightnb.models._syntax import node_text, parse_rust, walk

if TYPE_CHECKING:
    from tree_sitter import Node


@dataclass(frozen=True, slots=True)
class KeyStyle:
    """How updates of one table pick their row.

    :param column: the column filtered on (None for ``.find(...)``, i.e. the primary key).
    :param parameter: the function parameter compared with it (``user_id``).
    :param type: that parameter's type as written (``i32``).
    """

    column: str | None
    parameter: str
    type: str


@dataclass(frozen=True, slots=True)
class Touch:
    """A column the updates also set, always to the same value (``updated_at.eq(now)``).

    :param column: the column (``updated_at``).
    :param value: the value expression as written (``now``).
    :param parameter: ``(name, type)`` when the value is a function parameter, else None.
    """

    column: str
    value: str
    parameter: tuple[str, str] | None


@dataclass(frozen=True, slots=True)
class HouseStyle:
    """What the project's update functions have in common.

    :param keys: per table, the key its updates use most (one part per ``.filter``).
    :param touches: columns set to the same value by several update functions.
    :param update_return: the most common return type of functions ending in ``.execute(conn)``.
    :param files: the files the style was read from.
    """

    keys: dict[str, tuple[KeyStyle, ...]] = field(default_factory=dict)
    touches: tuple[Touch, ...] = ()
    update_return: str | None = None
    files: tuple[Path, ...] = ()

    @property
    def empty(self) -> bool:
        """Return whether no update function was found."""
        return not self.keys and self.update_return is None

    def touches_for(self, columns: tuple[str, ...]) -> tuple[Touch, ...]:
        """Return the touches that apply to a table with these columns."""
        return tuple(t for t in self.touches if t.column in columns)


@dataclass(frozen=True, slots=True)
class _Update:
    table: str
    key: tuple[KeyStyle, ...]
    sets: tuple[tuple[str, str], ...]
    parameters: dict[str, str]
    returns: str | None


def read_house_style(src_root: str | Path, *, exclude: tuple[Path, ...] = ()) -> HouseStyle:
    """Read the update functions of every ``*.rs`` file below ``src_root`` (skipping ``exclude``)."""
    root = Path(src_root)
    skipped = {p.resolve() for p in exclude}
    updates: list[_Update] = []
    files: list[Path] = []
    for path in sorted(root.rglob("*.rs")) if root.is_dir() else []:
        if not path.is_file() or path.resolve() in skipped or any(p in skipped for p in path.resolve().parents):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if "update(" not in text:
            continue
        found = updates_in(text)
        if found:
            files.append(path)
            updates.extend(found)
    return _summarise(updates, tuple(files))


def read_house_style_text(text: str) -> HouseStyle:
    """Read the update functions of one Rust source text."""
    return _summarise(updates_in(text), ())


def updates_in(text: str) -> list[_Update]:
    """Return every function of ``text`` whose body calls ``diesel::update``."""
    out = []
    for node in walk(parse_rust(text)):
        if node.type != "function_item":
            continue
        body = node.child_by_field_name("body")
        if body is None:
            continue
        call = next((n for n in walk(body) if n.type == "call_expression"
                     and _path(n.child_by_field_name("function")) in (("diesel", "update"), ("update",))),
                    None)
        if call is None:
            continue
        parameters = _parameters(node)
        update = _read_update(call, body, parameters, _return_type(node))
        if update is not None:
            out.append(update)
    return out


def _summarise(updates: list[_Update], files: tuple[Path, ...]) -> HouseStyle:
    keys: dict[str, tuple[KeyStyle, ...]] = {}
    for table in dict.fromkeys(u.table for u in updates):
        counted = Counter(u.key for u in updates if u.table == table and u.key)
        if counted:
            keys[table] = counted.most_common(1)[0][0]
    # A touch: the same column set to the same value by at least two update functions, besides
    # what each function is about (so a function setting only that column does not count).
    pairs = Counter((column, value) for u in updates if len(u.sets) > 1 for column, value in set(u.sets))
    touches: list[Touch] = []
    for (column, value), count in pairs.items():
        if count < 2 or any(t.column == column for t in touches):
            continue
        parameter = next(((value, u.parameters[value]) for u in updates if value in u.parameters), None)
        touches.append(Touch(column, value, parameter))
    returns = Counter(u.returns for u in updates if u.returns)
    return HouseStyle(keys, tuple(sorted(touches, key=lambda t: t.column)),
                      returns.most_common(1)[0][0] if returns else None, files)


def _read_update(call: Node, body: Node, parameters: dict[str, str], returns: str | None) -> _Update | None:
    arguments = call.child_by_field_name("arguments")
    target = arguments.named_children[0] if arguments is not None and arguments.named_children else None
    if target is None:
        return None
    key: list[KeyStyle] = []
    if target.type == "call_expression":  # t::table.find(id)
        method = target.child_by_field_name("function")
        if method is None or method.type != "field_expression" or _field_name(method) != "find":
            return None
        table = _table_of(method.child_by_field_name("value"))
        found = target.child_by_field_name("arguments")
        argument = node_text(found.named_children[0]) if found is not None and found.named_children else ""
        if argument in parameters:
            key.append(KeyStyle(None, argument, parameters[argument]))
    else:
        table = _table_of(target)
    if table is None:
        return None
    sets: list[tuple[str, str]] = []
    filters: list[KeyStyle] = []
    for node in walk(body):
        if node.type != "call_expression":
            continue
        method = node.child_by_field_name("function")
        if method is None or method.type != "field_expression":
            continue
        name = _field_name(method)
        args = node.child_by_field_name("arguments")
        items = args.named_children if args is not None else []
        if name == "filter" and items:
            compared = _eq(items[0], table)
            if compared is not None and compared[1] in parameters:
                filters.append(KeyStyle(compared[0], compared[1], parameters[compared[1]]))
        elif name == "set" and items:
            values = items[0].named_children if items[0].type == "tuple_expression" else [items[0]]
            sets.extend(pair for pair in (_eq(v, table) for v in values) if pair is not None)
    key.extend(reversed(filters))  # the walk meets the outermost call of a chain first
    ends_in_execute = _tail_method(body) == "execute"
    return _Update(table, tuple(key), tuple(sets), parameters, returns if ends_in_execute else None)


def _eq(node: Node, table: str) -> tuple[str, str] | None:
    """Return ``(column, value text)`` for ``table::column.eq(value)``."""
    if node.type != "call_expression":
        return None
    method = node.child_by_field_name("function")
    if method is None or method.type != "field_expression" or _field_name(method) != "eq":
        return None
    column = _path(method.child_by_field_name("value"))
    args = node.child_by_field_name("arguments")
    if len(column) < 2 or column[-2] != table or args is None or not args.named_children:
        return None
    return column[-1], node_text(args.named_children[0])


def _tail_method(body: Node) -> str | None:
    """Return the last method called by the body's tail expression (``execute``)."""
    tail = next((c for c in reversed(body.named_children) if c.type not in ("line_comment", "block_comment")),
                None)
    if tail is None or tail.type != "call_expression":
        return None
    method = tail.child_by_field_name("function")
    return _field_name(method) if method is not None and method.type == "field_expression" else None


def _table_of(node: Node | None) -> str | None:
    path = _path(node)
    return path[-2] if len(path) >= 2 and path[-1] == "table" else None


def _field_name(node: Node) -> str:
    return node_text(node.child_by_field_name("field"))


def _path(node: Node | None) -> tuple[str, ...]:
    if node is None:
        return ()
    if node.type == "identifier":
        return (node_text(node),)
    if node.type == "scoped_identifier":
        return (*_path(node.child_by_field_name("path")), node_text(node.child_by_field_name("name")))
    return ()


def _parameters(function: Node) -> dict[str, str]:
    out: dict[str, str] = {}
    parameters = function.child_by_field_name("parameters")
    for parameter in parameters.named_children if parameters is not None else []:
        pattern, kind = parameter.child_by_field_name("pattern"), parameter.child_by_field_name("type")
        if parameter.type == "parameter" and pattern is not None and kind is not None:
            out[node_text(pattern)] = " ".join(node_text(kind).split())
    return out


def _return_type(function: Node) -> str | None:
    returned = function.child_by_field_name("return_type")
    return " ".join(node_text(returned).split()) if returned is not None else None
