"""The ``lightnb`` command: diesel's verbs plus lightnb's own.

Each verb lives in its own module in this package, named in :data:`VERBS` with its one-line help,
and exposes ``register(parser) -> None``, which adds the verb's arguments and sets ``func`` to a
callable taking the parsed ``argparse.Namespace`` and returning an exit code. A verb's module is
imported, and its arguments added, only when the command line uses it (or when the whole command
tree is needed: completions, documentation), so ``lightnb --help`` or ``lightnb migration pending``
loads only what it needs. Each verb calls :mod:`lightnb.steps` and prints a result through
:mod:`lightnb.render`.

One central handler turns every exception into one line on stderr that also says what state the
database is in: a :class:`~lightnb.errors.LightnbError` (exit 1), Ctrl-C (exit 130) or SIGTERM/SIGHUP
(128 + the signal), and anything unexpected (exit 1; ``--debug`` or ``LIGHTNB_DEBUG=1`` adds the
traceback).
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from lightnb.cli._common import (
    DieselArgumentParser,
    LazySubParsers,
    add_global_options,
    apply_global_options,
    apply_sql_timeout,
    build_all,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the command's start-up path

if TYPE_CHECKING:
    from typing import Any

    from lightnb.errors import LightnbError

DEBUG_ENV = "LIGHTNB_DEBUG"
DIESEL_CLI_VERSION = "2.3.12"  # the diesel_cli whose commands, files and output lightnb twins


class Verb:
    """One ``lightnb`` verb: the module that implements it, its one-line help, its other names."""

    def __init__(self, module: str, help: str, aliases: tuple[str, ...] = ()) -> None:
        self.module = module
        self.help = help
        self.aliases = aliases


VERBS: dict[str, Verb] = {
    "check": Verb("check", "rehearse pending migrations on a copy (up, down, up), lint them, run the project's "
                           "tests; exit 1 unless every migration is safe"),
    "completions": Verb("completions", "print a shell completion script (bash, zsh, fish, powershell, elvish)"),
    "database": Verb("database", "set up, reset or drop the database (as diesel; on the workspace when there is "
                                 "one, never on production)", aliases=("db",)),
    "diff": Verb("diff", "compare the rows and schema of two databases (read-only; values redacted)"),
    "inspect": Verb("inspect", "summarise a database (tables, rows, fingerprints) or preview a table"),
    "lint": Verb("lint", "check migrations against the team's rules and SQLite's limits"),
    "migration": Verb("migration", "generate, run, revert, redo, list migrations (as diesel)"),
    "models": Verb("models", "check or generate Rust model structs against schema.rs"),
    "print-schema": Verb("print_schema", "print schema.rs as diesel does, or --check it"),
    "rehearse": Verb("rehearse", "rehearse pending migrations on a copy of production (papermill) and write a "
                                 "report"),
    "report": Verb("report", "export an executed notebook as an HTML and Markdown review report"),
    "sample": Verb("sample", "create the sample Diesel project and a fake production database to practise on"),
    "setup": Verb("setup", "create the migrations folder, diesel.toml and the database, and run the migrations (as "
                           "diesel; on the workspace when there is one, never on production)"),
    "snapshot": Verb("snapshot", "copy production (read-only) into the project's workspace, or reset/discard it"),
    "workbook": Verb("workbook", "build the sample into a folder and open JupyterLab on the guided notebook"),
}
"""Every verb, in help order. Adding a verb: a module with ``register(parser)``, and one line here."""


def _fill(parser: argparse.ArgumentParser, verb: Verb) -> None:
    importlib.import_module(f"{__name__}.{verb.module}").register(parser)


def lightnb_version() -> str:
    """Return the installed lightnb version."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("lightnb")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0+unknown"


class _PrintVersion(argparse.Action):
    """Print a version text as written (argparse's own version action re-wraps it) and exit 0.

    :param text: builds the text when the option is used (reading the installed version takes time).
    """

    def __init__(self, option_strings: list[str], dest: str, text: Callable[[], str] = str,
                 help: str | None = None) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0, help=help)
        self.text = text

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        sys.stdout.write(self.text())
        parser.exit(0)


def _short_version() -> str:
    return f"lightnb {lightnb_version()}\n"


def _long_version() -> str:
    return (f"lightnb \n Version: {lightnb_version()}\n Supported Backends: sqlite\n "
            f"Twin of: diesel_cli {DIESEL_CLI_VERSION}\n")


def build_parser(*, lazy: bool = False) -> argparse.ArgumentParser:
    """Build the top-level parser with every verb.

    :param lazy: create a verb's parser, and add its arguments, only when the command line uses it (what
        :func:`main` does); by default the whole command tree is built (completions, help pages, tests).
    """
    parser = DieselArgumentParser(
        prog="lightnb",
        description="Diesel + SQLite migrations, rehearsed on a copy of the database.",
        epilog="You can also run `lightnb SUBCOMMAND -h` to get more information about that subcommand.",
    )
    # diesel's -V prints the short version, --version the long one (clap, diesel_cli cli.rs).
    parser.add_argument("-V", action=_PrintVersion, text=_short_version, help="print the version")
    parser.add_argument("--version", action=_PrintVersion, text=_long_version,
                        help="print the version, the backends and the diesel_cli version it twins")
    # diesel accepts its global options anywhere on the line, before the verb too (diesel_spec.md §0).
    add_global_options(parser)
    parser.add_argument("--debug", action="store_true",
                        help=f"print the traceback of an unexpected error (also: {DEBUG_ENV}=1)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", action=LazySubParsers)
    assert isinstance(subparsers, LazySubParsers)
    for name, verb in VERBS.items():
        subparsers.add_lazy(name, functools.partial(_fill, verb=verb), help=verb.help, aliases=verb.aliases)
    return parser if lazy else build_all(parser)


def run() -> int:
    """Run the ``lightnb`` command as a process (the console script, ``python -m lightnb``); return its exit code.

    What is loaded before the verb runs (modules, their classes and functions) lives until the process ends, so
    the garbage collector is kept off while it loads and then leaves it out of its passes (``gc.freeze``):
    neither the collections during the imports nor the last one at exit walk it (about a tenth of a listing's
    time). Whatever the verb then makes is collected as usual while it runs; once it returned, the process only
    ends, so that too is left out of the passes made on the way out (a verb that loaded papermill, nbconvert and
    jupyter_client, as a rehearsal does, would otherwise spend a few tenths of a second ending).
    """
    gc.disable()
    try:
        return main(freeze_loaded=True)
    finally:
        gc.freeze()
        gc.enable()


def main(argv: Sequence[str] | None = None, *, freeze_loaded: bool = False) -> int:
    """Run the CLI; return the process exit code (also used by ``sys.exit``).

    :param freeze_loaded: once the command line is parsed (its verb's modules loaded), move every object to
        the collector's permanent generation and turn the collector on (see :func:`run`).
    """
    parser = build_parser(lazy=True)
    args = parser.parse_args(argv)
    if freeze_loaded:
        gc.freeze()
        gc.enable()
    apply_global_options(args)
    apply_sql_timeout(args)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    debug = bool(getattr(args, "debug", False)) or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    from lightnb import steps
    from lightnb.errors import LightnbError, UntranslatedDatabaseError

    ledger = None
    try:
        # a progress bar of long steps on stderr (a terminal only); a JSON result stays alone on its streams
        progress_to = None if getattr(args, "format", None) == "json" else sys.stderr
        with steps.command(verbose=getattr(args, "global_verbose", False), progress_to=progress_to) as ledger:
            code = func(args)
    except UntranslatedDatabaseError as error:  # a database error that no module translated
        _traceback(debug)
        print(steps.mask_message(f"error: {error}; {_state(ledger)}. Check the database file, or reset the "
                                 f"workspace with `lightnb snapshot --reset`."), file=sys.stderr)
        return 1
    except LightnbError as error:
        print(steps.mask_message(_with_state(str(error), error, ledger)), file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM/SIGHUP (signals.Terminated)
        what, status = steps.stopped(stop)
        print(f"error: {what}; {_state(ledger)}.", file=sys.stderr)
        return status
    except BrokenPipeError:
        return 0
    except OSError as error:  # the file system refused a path (too long, a link loop, permissions …)
        _traceback(debug)
        name = str(error.filename) if error.filename is not None else "a file"
        shown = name if len(name) <= 120 else name[:60] + "…" + name[-40:]
        print(f"error: cannot use {shown}: {error.strerror or error}; check the path (its length, links and "
              f"permissions) and retry; {_state(ledger)}.", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - the one place every other failure becomes one line
        _traceback(debug)
        if isinstance(error, RuntimeError) and str(error).startswith("Symlink loop from "):
            # pathlib's resolve() on Python < 3.13 (an OSError, ELOOP, from 3.13 on)
            print(f"error: cannot use {str(error)[len('Symlink loop from '):]}: it is a symbolic link loop; "
                  f"check the path and retry; {_state(ledger)}.", file=sys.stderr)
            return 1
        detail = " ".join(str(error).split())[:300] or "(no message)"
        print(steps.mask_message(f"error: unexpected {type(error).__name__}: {detail}; {_state(ledger)}. This is "
                                 f"a lightnb bug: rerun with --debug (or {DEBUG_ENV}=1) for the traceback and "
                                 f"report it."), file=sys.stderr)
        return 1
    return int(code or 0)


def _state(ledger: Any) -> str:
    """Say what state the database is in, from the command's ledger (nothing was started: untouched)."""
    return ledger.state() if ledger is not None else "no migration was applied or reverted, the database is as it was"


def _with_state(message: str, error: LightnbError, ledger: Any) -> str:
    """Add what state the database is in when the error came after migrations were committed.

    A migration's own failure already says what it left behind (and diesel's wording is kept);
    an error after run/revert/redo finished (writing schema.rs, say) must not hide that the
    migrations did commit.
    """
    from lightnb.errors import MigrationError
    if ledger is not None and ledger.finished and ledger.changed and not isinstance(error, MigrationError):
        return f"{message.rstrip('.')} (the database was changed before this failed: {ledger.state()})."
    return message


def _traceback(debug: bool) -> None:
    if debug:
        import traceback
        traceback.print_exc(file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
