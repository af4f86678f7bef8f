"""``lightnb workbook``: build the sample into a folder and open JupyterLab on notebook 01."""

from __future__ import annotations

import argparse
import secrets
import socket
import subprocess
from pathlib import Path

from lightnb import steps

DEFAULT_DIR = "workbook"


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``workbook`` verb's arguments."""
    parser.description = ("Build the bundled sample (project + fake production database) in DIR, copy the "
                          "workbook notebooks there pointed at it, start JupyterLab on 127.0.0.1 and print "
                          "the URL of notebook 01.")
    parser.add_argument("--dir", default=DEFAULT_DIR, metavar="DIR", help=f"folder (default: ./{DEFAULT_DIR}/)")
    parser.add_argument("--no-browser", action="store_true", help="print the URL but do not open a browser")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--users", type=int, default=2000, help="size of the sample database")
    parser.add_argument("--prepare-only", action="store_true", help="build the folder and exit")
    parser.set_defaults(func=_workbook)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _workbook(args: argparse.Namespace) -> int:
    folder = Path(args.dir).resolve()
    notebook = steps.prepare_workbook(folder, users=args.users)
    if args.prepare_only:
        print(f"Prepared {notebook}")
        return 0
    port = args.port or _free_port()
    token = secrets.token_hex(16)
    url = f"http://127.0.0.1:{port}/lab/tree/{notebook.name}?token={token}"
    cmd = steps.lab_command(folder, port=port, token=token, notebook=notebook.name, no_browser=args.no_browser)
    print(f"Workbook ready in {folder}\nOpen {url}\n(Ctrl-C stops JupyterLab)", flush=True)
    try:
        return subprocess.call(cmd, cwd=folder)
    except KeyboardInterrupt:
        return 0
