"""``lightnb completions SHELL``: a shell completion script on stdout (diesel's ``completions``)."""

from __future__ import annotations

import argparse
import sys

from lightnb.completions import SHELLS, generate


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``completions`` verb."""
    parser = subparsers.add_parser("completions", help="print a shell completion script (bash, zsh, fish, "
                                                       "powershell, elvish)")
    parser.add_argument("shell", metavar="SHELL", choices=SHELLS, help=" | ".join(SHELLS))
    parser.set_defaults(func=_completions)


def _completions(args: argparse.Namespace) -> int:
    from lightnb.cli import build_parser
    sys.stdout.write(generate(build_parser(), args.shell))
    return 0
