"""Which model files ``cargo build`` compiles: the ``mod`` declarations that reach them.

A file below ``src`` is compiled only when its parent module declares it (``mod name;``). When
the parent's file can be read and does not declare it, or declares it under ``#[cfg]``, nothing
found in the file can be proven to break the build. A parent that cannot be seen is assumed to
declare it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lightnb.models.rust_reader import read_rust

if TYPE_CHECKING:
    from lightnb.models.rust_reader import RustFile


class ModuleTree:
    """The module files of a crate that are known: the files read, plus parents read on demand."""

    def __init__(self, files: list[RustFile], src_root: Path | None = None) -> None:
        self._src_root = src_root
        self._by_module: dict[tuple[str, ...], list[RustFile]] = {}
        for rust_file in files:
            if rust_file.path is not None:
                self._by_module.setdefault(rust_file.module, []).append(rust_file)

    def why_not_compiled(self, rust_file: RustFile) -> str | None:
        """Return why the file may not be compiled, or None when every visible link declares it."""
        if rust_file.path is None:
            return None
        module = rust_file.module
        for depth in range(len(module) - 1, 0, -1):
            parent, name = module[:depth], module[depth]
            parents = self._parents(parent)
            if not parents:
                continue
            declared = [d for p in parents for d in p.mods if d.name == name]
            shown = " or ".join(str(p.path.name) for p in parents if p.path is not None)
            if not declared:
                extra = " (it may be declared by a macro or a #[path] attribute)" if any(
                    p.open_mods for p in parents) else ""
                return f"`mod {name};` is not declared in {shown}, so cargo may not compile this file{extra}"
            if all(d.conditional for d in declared):
                return f"`mod {name};` in {shown} is under #[cfg], so cargo may not compile this file"
        return None

    def _parents(self, module: tuple[str, ...]) -> list[RustFile]:
        if module in self._by_module:
            return self._by_module[module]
        found: list[RustFile] = []
        if self._src_root is not None:
            for candidate in _module_files(self._src_root, module):
                if candidate.is_file():
                    try:
                        text = candidate.read_text(encoding="utf-8")
                    except (OSError, UnicodeDecodeError):
                        continue
                    found.append(read_rust(text, path=candidate, module=module))
        self._by_module[module] = found
        return found


def _module_files(src_root: Path, module: tuple[str, ...]) -> list[Path]:
    """Return the files that may hold a module: ``main.rs``/``lib.rs`` for the crate root."""
    parts = module[1:]
    if not parts:
        return [src_root / "main.rs", src_root / "lib.rs"]
    base = src_root.joinpath(*parts)
    return [base.with_suffix(".rs"), base / "mod.rs"]
