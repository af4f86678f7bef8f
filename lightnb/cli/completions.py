"""``lightnb completions SHELL``: a shell completion script on stdout (diesel's ``completions``)."""

from __future__ import annotations

import argparse
import sys

from lightnb import steps


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``completions`` verb's arguments."""
    shells = steps.completion_shells()
    parser.add_argument("shell", metavar="SHELL", choices=shells, help=" | ".join(shells))
    parser.set_defaults(func=_completions)


def _completions(args: argparse.Namespace) -> int:
    from lightnb.cli import build_parser
    sys.stdout.write(steps.completions(build_parser(), args.shell))
    return 0
