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

from lightnb.errors import LightnbError
from lightnb.inspect.redact import mask_message


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every discovered verb."""
    parser = argparse.ArgumentParser(
        prog="lightnb",
        description="Diesel + SQLite migrations, rehearsed on a copy of the database.",
    )
    # diesel accepts its global options anywhere on the line, before the verb too (diesel_spec.md §0).
    for flag, dest in _GLOBAL_OPTIONS:
        parser.add_argument(flag, dest=f"global_{dest}", metavar="VALUE", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--locked-schema", dest="global_locked_schema", action="store_true",
                        help=argparse.SUPPRESS)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


_GLOBAL_OPTIONS = (("--database-url", "database_url"), ("--migration-dir", "migration_dir"),
                   ("--config-file", "config_file"))


def _apply_global_options(args: argparse.Namespace) -> None:
    """Give a verb the global options written before it, unless it has its own."""
    for _flag, dest in _GLOBAL_OPTIONS:
        value = getattr(args, f"global_{dest}", None)
        if value is not None and getattr(args, dest, None) is None:
            setattr(args, dest, value)
    if getattr(args, "global_locked_schema", False) and hasattr(args, "locked_schema"):
        args.locked_schema = True


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code (also used by ``sys.exit``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _apply_global_options(args)
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
