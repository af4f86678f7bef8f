"""Names for generated Rust code: the singular struct name of a table, and parameter names."""

from __future__ import annotations

# Irregular plurals seen in table names; everything else follows the suffix rules below.
_IRREGULAR = {"people": "person", "children": "child", "men": "man", "women": "woman", "data": "data",
              "media": "media", "criteria": "criterion", "indices": "index", "statuses": "status",
              "addresses": "address", "aliases": "alias", "analyses": "analysis"}


def singular(word: str) -> str:
    """Return the singular of an English table-name word (``priorities`` -> ``priority``)."""
    lower = word.lower()
    if lower in _IRREGULAR:
        return _IRREGULAR[lower]
    if lower.endswith("ies") and len(lower) > 3:
        return word[:-3] + "y"
    for ending in ("sses", "xes", "ches", "shes", "zzes"):
        if lower.endswith(ending):
            return word[:-2]
    if lower.endswith(("ss", "us", "is")) or not lower.endswith("s"):
        return word
    return word[:-1]


def singular_snake(table: str) -> str:
    """Return the table name with its last word made singular (``usage_logs`` -> ``usage_log``)."""
    head, _, last = table.rpartition("_")
    return f"{head}_{singular(last)}" if head else singular(last)


def struct_name_for(table: str) -> str:
    """Return the struct name for a table (``waiting_checks`` -> ``WaitingCheck``)."""
    return "".join(part[:1].upper() + part[1:] for part in singular_snake(table).split("_") if part)
