"""Packages whose public names are imported from their modules on first use (PEP 562).

A package lists where each public name lives; :func:`load_on_first_use` gives it the module
``__getattr__`` and ``__dir__`` that import a name's module when the name is first read, so importing
the package loads none of them (a command loads only what its verb needs). A name that is both a
function of the package and one of its modules (``lightnb.inspect.preview``) is *shadowed*: the
package keeps the function even after the module of the same name is imported.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Iterable, Mapping

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the command's start-up path
if TYPE_CHECKING:
    from typing import Any

_SHADOWED = "__lightnb_shadowed__"  # where a package keeps its shadowed names


class _Package(types.ModuleType):
    """A package whose shadowed names stay the functions when their modules are imported.

    Importing ``package.name`` binds the module to the package's ``name``; for a shadowed name that
    binding is kept out (the module stays in ``sys.modules``, where ``from package.name import …``
    finds it).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in self.__dict__.get(_SHADOWED, ()):
            return
        super().__setattr__(name, value)


def load_on_first_use(package: str, homes: Mapping[str, Iterable[str]], *, shadowed: Iterable[str] = ()
                      ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return the ``__getattr__`` and ``__dir__`` for ``package`` (the caller's ``__name__``).

    :param homes: module name -> the public names it defines.
    :param shadowed: names that are both a function of the package and a module of it.
    """
    home_of = {name: module for module, names in homes.items() for name in names}
    this = sys.modules[package]
    namespace = this.__dict__

    def __getattr__(name: str) -> Any:
        module = home_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *home_of})

    names = frozenset(shadowed)
    if names:
        namespace[_SHADOWED] = names
        this.__class__ = _Package
    return __getattr__, __dir__
