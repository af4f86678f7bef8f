"""Optional dependencies: the workbook extra (JupyterLab, ipywidgets, the notebook tools).

``pip install lightnb`` gives the library and the CLI; ``pip install 'lightnb[workbook]'`` adds what
the panels, notebooks, reports and rehearsals need. A feature that needs the extra says so in one line.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from lightnb.errors import LightnbError

EXTRA = "workbook"


class MissingExtra(LightnbError, ImportError):
    """A feature needs a package of the workbook extra that is not installed."""


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtra` naming ``purpose`` and the install command.

    :param purpose: what needs it, e.g. ``"lightnb report"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise _missing(getattr(error, "name", None) or module, purpose) from None


def require_installed(module: str, purpose: str) -> None:
    """Raise :class:`MissingExtra` like :func:`require` when ``module`` is not installed, without importing it
    (for work that imports it later, or in another thread or process)."""
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        found = None
    if found is None:
        raise _missing(module, purpose)


def _missing(module: str, purpose: str) -> MissingExtra:
    return MissingExtra(f"{purpose} needs {module.split('.')[0]}, which is not installed; install the "
                        f"workbook extra: pip install 'lightnb[{EXTRA}]'")
