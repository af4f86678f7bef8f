"""The ``lightnb`` command: diesel's verbs plus lightnb's own.

Each verb lives in its own module in this package and exposes
``register(subparsers) -> None``; the parser it adds sets ``func`` to a callable
taking the parsed ``argparse.Namespace`` and returning an exit code. Modules are
discovered, so adding a verb never touches this file. One central handler turns a
:class:`~lightnb.errors.LightnbError` into one line on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sqlite3
import sys
from collections.abc import Sequence

from lightnb import statement_log
from lightnb.cli._common import DieselArgumentParser, add_global_options, apply_global_options
from lightnb.errors import LightnbError
from lightnb.inspect.redact import mask_message

DIESEL_CLI_VERSION = "2.3.12"  # the diesel_cli whose commands, files and output lightnb twins


def lightnb_version() -> str:
    """Return the installed lightnb version."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("lightnb")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0+unknown"


class _PrintVersion(argparse.Action):
    """Print a version text as written (argparse's own version action re-wraps it) and exit 0."""

    def __init__(self, option_strings: list[str], dest: str, text: str = "", help: str | None = None) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0, help=help)
        self.text = text

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        sys.stdout.write(self.text)
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every discovered verb."""
    parser = DieselArgumentParser(
        prog="lightnb",
        description="Diesel + SQLite migrations, rehearsed on a copy of the database.",
        epilog="You can also run `lightnb SUBCOMMAND -h` to get more information about that subcommand.",
    )
    # diesel's -V prints the short version, --version the long one (clap, diesel_cli cli.rs).
    parser.add_argument("-V", action=_PrintVersion, text=f"lightnb {lightnb_version()}\n", help="print the version")
    parser.add_argument("--version", action=_PrintVersion,
                        text=f"lightnb \n Version: {lightnb_version()}\n Supported Backends: sqlite\n "
                             f"Twin of: diesel_cli {DIESEL_CLI_VERSION}\n",
                        help="print the version, the backends and the diesel_cli version it twins")
    # diesel accepts its global options anywhere on the line, before the verb too (diesel_spec.md §0).
    add_global_options(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code (also used by ``sys.exit``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    apply_global_options(args)
    statement_log.configure(verbose=getattr(args, "global_verbose", False))
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        code = func(args)
    except LightnbError as error:
        print(mask_message(str(error)), file=sys.stderr)
        return error.exit_code
    except sqlite3.Error as error:  # a database error that no module translated
        print(mask_message(f"error: SQLite: {error}. Check the database file, or reset the workspace "
                           f"with `lightnb snapshot --reset`."), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; nothing was committed by the step in progress.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
