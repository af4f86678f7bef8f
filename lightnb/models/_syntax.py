"""The tree-sitter Rust parser shared by the model readers."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node, Parser


@lru_cache(maxsize=1)
def _parser() -> Parser:
    """Build the Rust parser once (loading the grammar is the slow part)."""
    import tree_sitter_rust
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_rust.language()))


def parse_rust(text: str) -> Node:
    """Parse Rust source and return the root node of its syntax tree."""
    return _parser().parse(text.encode("utf-8")).root_node


def walk(node: Node) -> Iterator[Node]:
    """Yield ``node`` and every node below it, depth first, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def error_nodes(text: str) -> list[tuple[int, int]]:
    """Return ``(line, column)`` (1-based line) of every ERROR or MISSING node in Rust source."""
    root = parse_rust(text)
    return [(n.start_point[0] + 1, n.start_point[1]) for n in walk(root)
            if n.type == "ERROR" or n.is_missing]


def error_regions(root: Node) -> tuple[tuple[int, int], ...]:
    """Return the ``(first line, last line)`` (1-based) of each region tree-sitter could not parse.

    An ERROR node is one region (nothing inside it is read); a MISSING node (a token the parser
    had to invent) is a region of its own line. Overlapping or adjacent regions are merged.
    """
    spans: list[tuple[int, int]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            spans.append((node.start_point[0] + 1, max(node.end_point[0] + 1, node.start_point[0] + 1)))
            continue
        if node.has_error:
            stack.extend(node.children)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def present(node: Node | None) -> Node:
    """Return ``node``, a child the grammar (or a check just made) guarantees at this place.

    :raises AttributeError: when it is absent after all, as reading a field of None would.
    """
    if node is None:
        raise AttributeError("expected a Rust syntax node here, found none")
    return node


def node_text(node: Node | None) -> str:
    """Return the source text of a node (``""`` for None)."""
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8")


class CharOffsets:
    """Turn tree-sitter's UTF-8 byte offsets into ``str`` indexes of the same source."""

    def __init__(self, text: str) -> None:
        self._ascii = text.isascii()
        if not self._ascii:
            table = []
            for index, char in enumerate(text):
                table.extend([index] * len(char.encode("utf-8")))
            table.append(len(text))
            self._table = table

    def __call__(self, byte: int) -> int:
        """Return the ``str`` index of a byte offset."""
        return byte if self._ascii else self._table[byte]
