"""No import circles in lightnb: the modules form layers, each importing only what stands below it.

The graph is every import that runs: at the top of a module and inside its functions (a deferred
import hides a circle from Python, not from a reader). Imports under ``if TYPE_CHECKING:`` are left
out: they name a type for the type checker and never run. A circle fails the test, named module by
module with the file and line of each import, so the one to move is plain.
"""

from __future__ import annotations

import textwrap
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest


def import_graph(package: str) -> grimp.ImportGraph:
    """Return the graph of the imports that run (module level and inside functions) within ``package``."""
    return grimp.build_graph(package, exclude_type_checking_imports=True, cache_dir=None)


def _strongly_connected(graph: grimp.ImportGraph) -> Iterator[set[str]]:
    """Yield every set of two or more modules that reach each other (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, successors = work[-1]
            pushed = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.find_modules_directly_imported_by(successor)))))
                    pushed = True
                    break
                if successor in on_stack:
                    low[module] = min(low[module], index[successor])
            if pushed:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == module:
                        break
                if len(component) > 1:
                    yield component


def _one_loop(graph: grimp.ImportGraph, component: set[str]) -> list[str]:
    """Return one circle through the first module of ``component``: [a, b, ..., a]."""
    start = min(component)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        for successor in sorted(graph.find_modules_directly_imported_by(module) & component):
            if successor == start:
                path = [module]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if successor not in came_from:
                came_from[successor] = module
                queue.append(successor)
    raise AssertionError(f"no loop through {start}")  # pragma: no cover - a component always has one


def describe_circles(graph: grimp.ImportGraph) -> list[str]:
    """Return one paragraph per import circle: the modules in it, and one loop, import by import."""
    found = []
    for component in sorted(_strongly_connected(graph), key=min):
        loop = _one_loop(graph, component)
        lines = [f"import circle of {len(component)} modules: {', '.join(sorted(component))}"]
        for importer, imported in zip(loop, loop[1:]):
            detail = min(graph.get_import_details(importer=importer, imported=imported),
                         key=lambda d: d["line_number"], default=None)
            where = f" (line {detail['line_number']}: {detail['line_contents']})" if detail else ""
            lines.append(f"  {importer} -> {imported}{where}")
        found.append("\n".join(lines))
    return found


def test_lightnb_has_no_import_circle() -> None:
    circles = describe_circles(import_graph("lightnb"))
    if circles:
        pytest.fail("lightnb's modules import each other in a circle; move what both need into a module below "
                    "them (the core never imports lightnb.steps):\n\n" + "\n\n".join(circles), pytrace=False)


# ----------------------------------------------------------------------------- the check itself

def _package(root: Path, name: str, modules: dict[str, str]) -> None:
    folder = root / name
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    for module, text in modules.items():
        (folder / f"{module}.py").write_text(textwrap.dedent(text))


def _circles_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, modules: dict[str, str]) -> list[str]:
    _package(tmp_path, name, modules)
    monkeypatch.syspath_prepend(str(tmp_path))
    return describe_circles(import_graph(name))


def test_a_circle_hidden_in_a_function_is_found_and_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    circles = _circles_of(tmp_path, monkeypatch, "circled", {
        "door": "from circled import core\n",
        "core": "def run():\n    from circled import door\n    return door\n",
        "below": "X = 1\n",
    })
    (circle,) = circles
    assert circle.splitlines() == [
        "import circle of 2 modules: circled.core, circled.door",
        "  circled.core -> circled.door (line 2: from circled import door)",
        "  circled.door -> circled.core (line 1: from circled import core)",
    ]


def test_a_longer_circle_is_walked_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    circles = _circles_of(tmp_path, monkeypatch, "ringed", {
        "a": "import ringed.b\n",
        "b": "from ringed.c import name\n",
        "c": "name = 1\ndef later():\n    import ringed.a\n",
    })
    (circle,) = circles
    assert [line.split(" (")[0].strip() for line in circle.splitlines()[1:]] == [
        "ringed.a -> ringed.b", "ringed.b -> ringed.c", "ringed.c -> ringed.a"]


def test_an_import_for_the_type_checker_alone_is_no_circle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _circles_of(tmp_path, monkeypatch, "typed", {
        "record": "def helper():\n    from typed import rules\n    return rules\n",
        "rules": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from typed.record import Record\n",
    }) == []
