"""Optional dependencies: the workbook extra (JupyterLab, ipywidgets, the notebook tools).

``pip install lightnb`` gives the library and the CLI; ``pip install 'lightnb[workbook]'`` adds what
the panels, notebooks, reports and rehearsals need. A feature that needs the extra says so in one line.
"""

from __future__ import annotations

import importlib
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
        missing = getattr(error, "name", None) or module
        raise MissingExtra(f"{purpose} needs {missing.split('.')[0]}, which is not installed; install the "
                           f"workbook extra: pip install 'lightnb[{EXTRA}]'") from None
