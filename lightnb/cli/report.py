"""``lightnb report``: export an executed notebook as HTML and Markdown, built from its panels' records."""

from __future__ import annotations

import argparse

from lightnb import steps
from lightnb.cli._common import redacting_project

FORMATS = {"html": ("html",), "markdown": ("markdown",), "both": ("html", "markdown")}


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``report`` verb's arguments."""
    parser.description = ("Write NOTEBOOK as HTML (opens offline, no widget JavaScript) and Markdown, both showing "
                          "what each workbook panel did, from the record it keeps in the saved notebook. A notebook "
                          "whose panels hold no record is refused, naming the cells. Needs the workbook extra.")
    parser.add_argument("notebook", help="the executed (or saved) .ipynb")
    parser.add_argument("--out", metavar="OUTDIR", default=".", help="where to write (default: .)")
    parser.add_argument("--format", choices=tuple(FORMATS), default="both")
    parser.add_argument("--project", metavar="DIR", default=".",
                        help="Diesel project whose lightnb.toml [redact] settings apply to the outputs' tables "
                             "(default: current folder)")
    parser.set_defaults(func=_report)


def _report(args: argparse.Namespace) -> int:
    done = steps.report(args.notebook, args.out, formats=FORMATS[args.format], project=redacting_project(args.project))
    for path in (done.html, done.markdown):
        if path is not None:
            print(f"Wrote {path}")
    return 0
