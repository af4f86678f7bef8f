"""How lightnb starts Jupyter kernels: over an encrypted (CurveZMQ) or local (IPC) transport.

ipykernel warns on every start over plain TCP ("Kernel is running over TCP without encryption").
Kernels lightnb starts itself (a rehearsal, the notebook build) and the kernels of the workbook's
JupyterLab use CurveZMQ keys the kernel manager provisions when pyzmq supports them and the
kernelspec declares it, else local IPC sockets, so no such warning is printed and nothing travels
in clear over a TCP port.
"""

from __future__ import annotations

import os
from typing import Any

from lightnb.extras import require


def curve_available() -> bool:
    """Tell whether pyzmq was built with CurveZMQ (it is in the usual wheels)."""
    zmq = require("zmq", "starting a Jupyter kernel")
    return bool(zmq.has("curve"))


def kernel_spec_manager() -> Any:
    """Return a jupyter_client KernelSpecManager searching the folders its default one searches: Jupyter's
    ``kernels`` folders, then IPython's (``$IPYTHONDIR/kernels``, else ``~/.ipython/kernels``).

    The default one imports the whole of IPython to name IPython's folder (a few hundredths of a second on
    every kernel start); it is named here as IPython names it.
    """
    require("jupyter_client", "starting a Jupyter kernel")
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_core.paths import jupyter_path

    ipython = os.environ.get("IPYTHONDIR") or os.path.join(os.path.expanduser("~"), ".ipython")
    folders = [*jupyter_path("kernels"), os.path.join(os.path.normpath(os.path.expanduser(ipython)), "kernels")]
    return KernelSpecManager(kernel_dirs=folders)


def _supports_curve(kernel_name: str, specs: Any = None) -> bool:
    try:
        spec = (specs or kernel_spec_manager()).get_kernel_spec(kernel_name)
    except Exception:  # noqa: BLE001 - no such kernel: the caller's start reports it
        return False
    declared = (spec.metadata or {}).get("supported_encryption") or ()
    declared = [declared] if isinstance(declared, str) else declared
    return "curve" in {str(d).strip().lower() for d in declared}


def transport_settings(kernel_name: str = "python3", specs: Any = None) -> dict[str, str]:
    """Return the kernel manager settings to use: CurveZMQ encryption, else the IPC transport.

    :param specs: the KernelSpecManager to find the kernel with (default: :func:`kernel_spec_manager`'s).
    """
    if curve_available() and _supports_curve(kernel_name, specs):
        return {"transport_encryption": "auto"}
    return {"transport": "ipc"}


def kernel_manager_class(kernel_name: str = "python3") -> type:
    """Return an async kernel manager class (for nbclient and papermill) using :func:`transport_settings`, finding
    kernels with :func:`kernel_spec_manager`'s KernelSpecManager."""
    require("jupyter_client", "starting a Jupyter kernel")
    from jupyter_client.manager import AsyncKernelManager

    specs = kernel_spec_manager()
    settings = transport_settings(kernel_name, specs)

    class QuietKernelManager(AsyncKernelManager):
        """A kernel manager whose kernels talk over an encrypted or local transport."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{"kernel_spec_manager": specs, **settings, **kwargs})

    return QuietKernelManager


def lab_options(kernel_name: str = "python3") -> list[str]:
    """Return the JupyterLab command-line options giving its kernels the same transport."""
    return [f"--KernelManager.{key}={value}" for key, value in transport_settings(kernel_name).items()]
