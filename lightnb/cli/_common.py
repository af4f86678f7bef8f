"""Options shared by verbs that act on a project and a database (diesel's global options), and the
argument parser that reports usage errors the way diesel's (clap) does."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the command's start-up path
if TYPE_CHECKING:
    from typing import Any, NoReturn

    from lightnb.steps import Project, Target

    _SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]  # generic in the type stubs only
else:
    _SubParsers = argparse._SubParsersAction


def add_project_options(parser: argparse.ArgumentParser) -> None:
    """Add diesel's ``--database-url``, ``--migration-dir``, ``--config-file`` and ``--project``, and accept
    the global ``--locked-schema`` and ``--verbose`` after the verb too, as diesel does."""
    parser.add_argument("--database-url", metavar="URL",
                        help="database to act on (default: the project's workspace if there is one, "
                             "else DATABASE_URL)")
    parser.add_argument("--migration-dir", metavar="PATH", help="migrations folder (default: from diesel.toml)")
    parser.add_argument("--config-file", metavar="PATH", help="diesel.toml to use")
    parser.add_argument("--project", metavar="DIR", default=".",
                        help="folder inside the Diesel project (default: current folder)")
    if "--locked-schema" not in parser._option_string_actions:
        parser.add_argument("--locked-schema", dest="global_locked_schema", action="store_true",
                            default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    if "--verbose" not in parser._option_string_actions:
        parser.add_argument("-v", "--verbose", dest="global_verbose", action="store_true",
                            default=argparse.SUPPRESS, help="log every SQL statement executed to stderr")


def project_from_args(args: argparse.Namespace) -> Project:
    """Find the project the options describe."""
    from lightnb import steps
    return steps.open_project(args.project, migration_dir=args.migration_dir, config_file=args.config_file)


def redacting_project(folder: str) -> Project:
    """Find the project around ``folder`` whose lightnb.toml ``[redact]`` settings apply to what a verb shows.

    A mistake in the project's settings is an error, never a silent fall back to fewer masked columns.
    """
    from lightnb import steps
    return steps.open_project(folder)


def target_from_args(args: argparse.Namespace, project: Project, *, write: bool = True) -> Target:
    """Resolve which database the verb acts on, and say so on stderr when it is a workspace.

    :param write: the verb may write it (then the project's production database is refused).
    """
    from lightnb import steps
    target = steps.resolve_target(project, database_url=args.database_url, write=write, postgres=True)
    announce_target(target)
    return target


def announce_target(target: Target | None) -> None:
    """Say on stderr that a verb works on the project's workspace (not on what DATABASE_URL names)."""
    if target is not None and target.workspace is not None:
        origin = f" of {target.workspace.production}" if target.workspace.production else ""
        print(f"lightnb: working on workspace {target.path}{origin}", file=sys.stderr)


def output_format(parser: argparse.ArgumentParser) -> None:
    """Add ``--format text|json``: the verb's result as terminal text (default) or as JSON."""
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def sql_timeout_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--sql-timeout SECONDS``: how long migration SQL lightnb runs by itself on a copy may run (to prove,
    replay or measure it; :mod:`lightnb.time_limit`)."""
    parser.add_argument("--sql-timeout", metavar="SECONDS", type=_seconds_limit,
                        help="stop a migration's up.sql or down.sql that lightnb runs by itself on a copy (to prove, "
                             "replay or measure it) after SECONDS (default 600, or $LIGHTNB_SQL_TIMEOUT; 0: no "
                             "limit); it then fails in one line, nothing of it kept")


def _seconds_limit(text: str) -> str:
    from lightnb import steps
    try:
        steps.sql_timeout(text)
    except steps.LightnbError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def apply_sql_timeout(args: argparse.Namespace) -> None:
    """Use ``--sql-timeout`` for the rest of the command, in this process and in the processes it starts (a
    rehearsal's kernel): it becomes ``LIGHTNB_SQL_TIMEOUT``."""
    chosen = getattr(args, "sql_timeout", None)
    if chosen is not None:
        from lightnb import steps
        steps.use_sql_timeout(chosen)


def show(result: Any, form: str = "text") -> None:
    """Print a verb's result on stdout, rendered as terminal text or as JSON."""
    from lightnb.render import json, text
    print(json.render(result) if form == "json" else text.render(result))


# diesel's global options: --database-url, --config-file and --locked-schema anywhere on the line,
# --migration-dir on `migration`, `setup` and `database` and everything below them (diesel_cli cli.rs).
GLOBAL_OPTIONS = (("--database-url", "database_url", "URL",
                   "database URL (default: the project's workspace if there is one, else DATABASE_URL)"),
                  ("--config-file", "config_file", "PATH", "diesel.toml to use (default: DIESEL_CONFIG_FILE, "
                                                           "else diesel.toml in the project root)"),
                  ("--migration-dir", "migration_dir", "PATH", "migrations folder (default: MIGRATION_DIRECTORY, "
                                                               "else diesel.toml, else migrations/ upward)"))


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """Accept diesel's global options on a group verb, before its sub-verb (``migration --migration-dir D run``).

    They are stored as ``global_<name>`` only when given (``SUPPRESS`` default), so a value given
    earlier on the line is not reset; the verb's own option, when given, wins.
    """
    for flag, dest, metavar, text in GLOBAL_OPTIONS:
        parser.add_argument(flag, dest=f"global_{dest}", metavar=metavar, default=argparse.SUPPRESS, help=text)
    parser.add_argument("--locked-schema", dest="global_locked_schema", action="store_true",
                        default=argparse.SUPPRESS, help="fail instead of changing the schema file(s)")
    parser.add_argument("-v", "--verbose", dest="global_verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log every SQL statement executed to stderr (string literals masked); "
                             "also DIESEL_LOG=debug")


def apply_global_options(args: argparse.Namespace) -> None:
    """Give a verb the global options written before it, unless it has its own."""
    for _flag, dest, _metavar, _text in GLOBAL_OPTIONS:
        value = getattr(args, f"global_{dest}", None)
        if value is not None and getattr(args, dest, None) is None:
            setattr(args, dest, value)
    if getattr(args, "global_locked_schema", False) and hasattr(args, "locked_schema"):
        args.locked_schema = True


class DieselArgumentParser(argparse.ArgumentParser):
    """An argument parser whose usage errors read like diesel's (clap): ``error: …`` on stderr, exit 2."""

    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse makes a formatter for every argument added (to check its metavar) and asks shutil for the
        # terminal's width each time: the width as shutil would give it, without importing shutil (and its
        # compression modules) on every command
        return self.formatter_class(prog=self.prog, width=help_width())  # type: ignore[call-arg]

    def error(self, message: str) -> NoReturn:
        value = re.fullmatch(r"argument [^:]+: (invalid value '.*)", message, re.DOTALL)
        if value:  # a value the option's parser refused: clap prints no usage for these
            self.exit(2, f"error: {value.group(1)}\n\nFor more information, try '--help'.\n")
        usage = self.format_usage().strip().removeprefix("usage: ")
        self.exit(2, f"error: {message}\n\nUsage: {usage}\n\nFor more information, try '--help'.\n")


def help_width() -> int:
    """The width argparse gives help text: ``shutil.get_terminal_size().columns - 2`` (``COLUMNS``, else the
    terminal of standard output, else 80)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 80
    return columns - 2


def u64(option: str) -> Callable[[str], int]:
    """Return an argparse type that reads an unsigned 64-bit count and words errors as clap does.

    :param option: the option as clap names it in errors, e.g. ``--number <REVERT_NUMBER>``.
    """
    def parse(text: str) -> int:
        digits = text[1:] if text.startswith("+") else text
        if not digits:
            reason = "cannot parse integer from empty string"
        elif not digits.isascii() or not digits.isdigit():
            reason = "invalid digit found in string"
        elif int(digits) >= 2 ** 64:
            reason = "number too large to fit in target type"
        else:
            return int(digits)
        raise argparse.ArgumentTypeError(f"invalid value '{text}' for '{option}': {reason}")
    parse.__name__ = "u64"
    return parse


class LazySubParsers(_SubParsers):
    """Sub-commands named now (for the help, the choices and their errors) whose parsers are created, and
    their arguments added, only when the command line reaches them: ``lightnb migration list`` builds the
    parser of ``list``, not of the fourteen other verbs nor of ``migration generate``.

    Each is added with :meth:`add_lazy`; :func:`build_all` builds every one (completions, help pages).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unbuilt: dict[str, _Unbuilt] = {}

    def add_lazy(self, name: str, build: Callable[[argparse.ArgumentParser], None], *, help: str | None = None,
                 aliases: Sequence[str] = (), parser_class: type[argparse.ArgumentParser] | None = None) -> None:
        """Name the sub-command ``name`` (and its ``aliases``); ``build`` adds its arguments once it is created."""
        if help is not None:
            self._choices_actions.append(self._ChoicesPseudoAction(name, list(aliases), help))
        unbuilt = _Unbuilt(name, tuple(aliases), build, parser_class or self._parser_class)
        for key in (name, *aliases):
            if key in self._name_parser_map:
                raise argparse.ArgumentError(self, f"conflicting subparser: {key}")
            # a placeholder: its key is a choice now, its parser comes when the command line reaches it
            self._name_parser_map[key] = unbuilt  # type: ignore[assignment]
            self.unbuilt[key] = unbuilt

    def build(self, key: str) -> argparse.ArgumentParser | None:
        """Create the parser of sub-command ``key`` (a name or an alias) if it is not yet; return it."""
        unbuilt = self.unbuilt.get(key)
        if unbuilt is None:
            found = self._name_parser_map.get(key)
            return found if isinstance(found, argparse.ArgumentParser) else None
        parser = unbuilt.parser_class(prog=f"{self._prog_prefix} {unbuilt.name}")
        for name in (unbuilt.name, *unbuilt.aliases):
            self._name_parser_map[name] = parser
            self.unbuilt.pop(name, None)
        unbuilt.build(parser)
        return parser

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        if values:
            self.build(values[0])
        super().__call__(parser, namespace, values, option_string)


class _Unbuilt:
    """A sub-command whose parser is not created yet."""

    def __init__(self, name: str, aliases: tuple[str, ...], build: Callable[[argparse.ArgumentParser], None],
                 parser_class: type[argparse.ArgumentParser]) -> None:
        self.name, self.aliases, self.build, self.parser_class = name, aliases, build, parser_class


def build_all(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Create every sub-command's parser below ``parser``, recursively (the whole command tree); return it."""
    for action in parser._actions:
        if isinstance(action, LazySubParsers):
            for key in list(action.unbuilt):
                action.build(key)
        if isinstance(action, argparse._SubParsersAction):
            for child in {id(p): p for p in action.choices.values()}.values():
                if isinstance(child, argparse.ArgumentParser):
                    build_all(child)
    return parser
