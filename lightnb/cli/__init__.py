"""The ``lightnb`` command: diesel's verbs plus lightnb's own.

Each verb lives in its own module in this package and exposes
``register(subparsers) -> None``; the parser it adds sets ``func`` to a callable
taking the parsed ``argparse.Namespace`` and returning an exit code. Modules are
discovered, so adding a verb never touches this file. One central handler turns every
exception into one line on stderr that also says what state the database is in: a
:class:`~lightnb.errors.LightnbError` (exit 1), Ctrl-C (exit 130) or SIGTERM/SIGHUP (128 + the
signal), and anything unexpected (exit 1; ``--debug`` or ``LIGHTNB_DEBUG=1`` adds the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback
from collections.abc import Sequence

from lightnb import runner, signals, statement_log
from lightnb.backends import sqlite
from lightnb.cli._common import DieselArgumentParser, add_global_options, apply_global_options
from lightnb.errors import LightnbError, MigrationError
from lightnb.inspect.redact import mask_message

DEBUG_ENV = "LIGHTNB_DEBUG"
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
    parser.add_argument("--debug", action="store_true",
                        help=f"print the traceback of an unexpected error (also: {DEBUG_ENV}=1)")
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
    debug = bool(getattr(args, "debug", False)) or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    with runner.recording() as ledger, signals.unwinding_on_termination(redeliver=False):
        try:
            code = func(args)
        except LightnbError as error:
            print(mask_message(_with_state(str(error), error, ledger)), file=sys.stderr)
            return error.exit_code
        except sqlite.Error as error:  # a database error that no module translated
            _traceback(debug)
            print(mask_message(f"error: SQLite: {error}; {ledger.state()}. Check the database file, or reset the "
                               f"workspace with `lightnb snapshot --reset`."), file=sys.stderr)
            return 1
        except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM/SIGHUP (signals.Terminated)
            print(f"error: {signals.describe(stop)}; {ledger.state()}.", file=sys.stderr)
            return signals.exit_status(stop)
        except BrokenPipeError:
            return 0
        except OSError as error:  # the file system refused a path (too long, a link loop, permissions …)
            _traceback(debug)
            name = str(error.filename) if error.filename is not None else "a file"
            shown = name if len(name) <= 120 else name[:60] + "…" + name[-40:]
            print(f"error: cannot use {shown}: {error.strerror or error}; check the path (its length, links and "
                  f"permissions) and retry; {ledger.state()}.", file=sys.stderr)
            return 1
        except Exception as error:  # noqa: BLE001 - the one place every other failure becomes one line
            _traceback(debug)
            if isinstance(error, RuntimeError) and str(error).startswith("Symlink loop from "):
                # pathlib's resolve() on Python < 3.13 (an OSError, ELOOP, from 3.13 on)
                print(f"error: cannot use {str(error)[len('Symlink loop from '):]}: it is a symbolic link loop; "
                      f"check the path and retry; {ledger.state()}.", file=sys.stderr)
                return 1
            detail = " ".join(str(error).split())[:300] or "(no message)"
            print(mask_message(f"error: unexpected {type(error).__name__}: {detail}; {ledger.state()}. This is a "
                               f"lightnb bug: rerun with --debug (or {DEBUG_ENV}=1) for the traceback and report it."),
                  file=sys.stderr)
            return 1
    return int(code or 0)


def _with_state(message: str, error: LightnbError, ledger: runner.Ledger) -> str:
    """Add what state the database is in when the error came after migrations were committed.

    A migration's own failure already says what it left behind (and diesel's wording is kept);
    an error after run/revert/redo finished (writing schema.rs, say) must not hide that the
    migrations did commit.
    """
    if ledger.finished and ledger.changed and not isinstance(error, MigrationError):
        return f"{message.rstrip('.')} (the database was changed before this failed: {ledger.state()})."
    return message


def _traceback(debug: bool) -> None:
    if debug:
        traceback.print_exc(file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
