"""``lightnb report``: export an executed notebook as HTML and Markdown, built from its panels' records."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` verb."""
    parser = subparsers.add_parser(
        "report", help="export an executed notebook as an HTML and Markdown review report",
        description="Write NOTEBOOK as HTML (opens offline, no widget JavaScript) and Markdown, both showing "
                    "what each workbook panel did, from the record it keeps in the saved notebook. A notebook "
                    "whose panels hold no record is refused, naming the cells. Needs the workbook extra.")
    parser.add_argument("notebook", help="the executed (or saved) .ipynb")
    parser.add_argument("--out", metavar="OUTDIR", default=".", help="where to write (default: .)")
    parser.add_argument("--format", choices=("html", "markdown", "both"), default="both")
    parser.add_argument("--project", metavar="DIR", default=".",
                        help="Diesel project whose lightnb.toml [redact] settings apply to the outputs' tables "
                             "(default: current folder)")
    parser.set_defaults(func=_report)


def _report(args: argparse.Namespace) -> int:
    from lightnb.report import FORMATS, export

    from lightnb.cli.diff import redactor_for

    formats = FORMATS if args.format == "both" else (args.format,)
    done = export(args.notebook, args.out, formats=formats, redactor=redactor_for(args.project))
    for path in (done.html, done.markdown):
        if path is not None:
            print(f"Wrote {path}")
    return 0
