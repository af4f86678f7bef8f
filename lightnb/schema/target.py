"""Which files a schema file may be written over: only a schema file print-schema would write.

diesel_cli writes ``[print_schema] file`` over whatever is there; lightnb refuses, in one line,
anything that is not a schema file: a production or workspace database (or any SQLite file),
binary data, a folder, a FIFO or device, and Rust text with items print-schema never writes
(``fn``, ``impl``, a ``struct`` outside ``sql_types``…, e.g. ``src/main.rs``). What print-schema
writes, and a patch file may add to it, is accepted: comments, attributes, ``use`` lines,
``table!``/``joinable!``/``allow_tables_to_appear_in_same_query!`` and ``mod sql_types``. An empty
file is accepted too, and version-control conflict markers are ignored (regenerating is how a
conflicted schema.rs is repaired).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from lightnb.backends.sqlite import SQLITE_HEADER
from lightnb.errors import FileWriteError
from lightnb.files import existing_regular, real_target

if TYPE_CHECKING:
    from tree_sitter import Node

# Larger than any schema.rs (thousands of tables print a few MB); a bigger file is something else.
MAX_SCHEMA_BYTES = 64 * 1024 * 1024
SCHEMA_MACROS = frozenset({"table", "joinable", "allow_tables_to_appear_in_same_query"})
_CONFLICT_MARKERS = ("<<<<<<< ", "=======", ">>>>>>> ", "||||||| ")
_ALLOWED_ITEMS = frozenset({"line_comment", "block_comment", "attribute_item", "inner_attribute_item",
                            "use_declaration", "empty_statement"})


def check_schema_target(path: str | Path, *, protected: Iterable[str | Path] = ()) -> None:
    """Raise unless ``path`` is missing or a file print-schema may replace.

    :param protected: databases (and their journals) that may never be written: production,
        the database being migrated.
    :raises FileWriteError: one line: what the file is, and to fix ``file`` in ``[print_schema]``.
    """
    target = real_target(path)
    for other in protected:
        if _same(target, other):
            _refuse(path, f"is {other}, a database lightnb never writes")
    try:
        info = existing_regular(target, what="schema file")
    except FileWriteError as error:
        raise FileWriteError(f"{error} (the `file` of [print_schema] in diesel.toml)", path=path) from error
    if info is None:
        return
    if info.st_size > MAX_SCHEMA_BYTES:
        _refuse(path, f"is {info.st_size // (1024 * 1024)} MiB, far larger than a schema file")
    data = target.read_bytes()
    if data.startswith(SQLITE_HEADER):
        _refuse(path, "is a SQLite database")
    reason = not_a_schema_file(data)
    if reason:
        _refuse(path, reason)


def not_a_schema_file(data: bytes) -> str | None:
    """Return why ``data`` is not a schema file print-schema would write, or None when it is one."""
    if b"\x00" in data:
        return "is binary data, not Rust text"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "is not UTF-8 text (a schema file is Rust source)"
    lines = [line for line in text.splitlines() if not line.startswith(_CONFLICT_MARKERS)]
    text = "\n".join(lines)
    if not text.strip():
        return None
    from lightnb.models._syntax import parse_rust
    root = parse_rust(text)
    for node in root.children:
        problem = _item_problem(node)
        if problem:
            return problem
    return None


def _item_problem(node: Node) -> str | None:
    line = node.start_point[0] + 1
    if node.type in _ALLOWED_ITEMS:
        return None
    if node.type == "expression_statement" and node.named_child_count == 1:
        node = node.named_children[0]
    if node.type == "macro_invocation":
        macro = node.child_by_field_name("macro")
        name = macro.text.decode("utf-8").rsplit("::", 1)[-1] if macro is not None and macro.text else ""
        if name in SCHEMA_MACROS:
            return None
        return f"has a `{name}!` macro on line {line}, which print-schema never writes"
    if node.type == "mod_item":  # sql_types, or the module of a `schema = "…"` configuration
        module = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if module is not None and module.text == b"sql_types":
            return None
        if body is not None:
            return next((p for p in map(_item_problem, body.named_children) if p), None)
    if node.type == "ERROR" or node.is_missing:
        return f"is not Rust that print-schema writes (it does not parse at line {line})"
    first = (node.text or b"").decode("utf-8", "replace").split("\n", 1)[0].strip()[:60]
    return f"has Rust items print-schema never writes (line {line}: `{first}`)"


def _same(a: Path, b: str | Path) -> bool:
    try:
        if a == real_target(b):
            return True
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except OSError:
        return False


def _refuse(path: str | Path, reason: str) -> None:
    raise FileWriteError(f"Will not write the schema file {path}: it {reason}. lightnb writes a schema file only "
                         f"over one print-schema wrote; fix `file` in [print_schema] of diesel.toml (or move that "
                         f"file away). Nothing was written.", path=path)


__all__ = ["check_schema_target", "not_a_schema_file"]
