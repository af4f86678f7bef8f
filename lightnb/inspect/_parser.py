"""The SQL parser's names (sqlglot), imported when a statement is first parsed.

A module that parses only some of the time (a schema with views, triggers, generated columns or
defaults that differ) binds ``sqlglot``, ``exp`` and ``TokenType`` with :func:`bind_on_first_use`;
the first use imports the parser and rebinds the module's name to the parser's own object, so later
uses cost what a plain import's would. A row diff of plain tables, or an error line, never loads it.
"""

from __future__ import annotations

import importlib
from collections.abc import MutableMapping
from typing import Any

NAMES = {"sqlglot": ("sqlglot", None), "exp": ("sqlglot.expressions", None),
         "TokenType": ("sqlglot.tokens", "TokenType")}
"""The names a module binds, and where each is imported from (module, attribute)."""


class OnFirstUse:
    """Stands for one name of the parser in ``namespace`` until an attribute of it is first read."""

    def __init__(self, namespace: MutableMapping[str, Any], name: str) -> None:
        self._namespace, self._name = namespace, name

    def __getattr__(self, attribute: str) -> Any:
        module, inner = NAMES[self._name]
        found: Any = importlib.import_module(module)
        if inner is not None:
            found = getattr(found, inner)
        self._namespace[self._name] = found
        return getattr(found, attribute)

    def __repr__(self) -> str:
        return f"<{self._name}, imported when first used>"


def bind_on_first_use(namespace: MutableMapping[str, Any]) -> None:
    """Bind ``sqlglot``, ``exp`` and ``TokenType`` in ``namespace`` (a module's ``globals()``)."""
    for name in NAMES:
        namespace[name] = OnFirstUse(namespace, name)
