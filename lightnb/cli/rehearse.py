"""``lightnb rehearse``: run notebook 02 headless on a copy of production; write notebook + HTML report."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``rehearse`` verb."""
    parser = subparsers.add_parser(
        "rehearse", help="rehearse pending migrations on a copy of production (papermill) and write a report",
        description="Execute the rehearsal notebook with papermill against a copy of PROD.db (never "
                    "written) and write the executed notebook and an HTML/Markdown report into OUTDIR.")
    parser.add_argument("--project", metavar="DIR", default=".", help="the Diesel project folder (default: .)")
    parser.add_argument("--database", metavar="PROD.db", required=True, help="the production database to copy")
    parser.add_argument("--out", metavar="OUTDIR", required=True, help="where to write the results")
    parser.add_argument("--limit", type=int, metavar="N", help="apply only the next N pending migrations")
    parser.add_argument("--run-tests", action="store_true", help="also run the project's own test command")
    parser.add_argument("--timeout", type=int, default=600, metavar="SECONDS", help="per-cell time limit")
    parser.add_argument("--fail-on", choices=("attention", "unsafe"), default="attention",
                        help="exit 1 when the verdict is 'needs attention' or worse (default), or only 'unsafe'")
    parser.set_defaults(func=_rehearse)


def _rehearse(args: argparse.Namespace) -> int:
    from lightnb.rehearse import rehearse

    done = rehearse(args.project, args.database, args.out, limit=args.limit, run_tests=args.run_tests,
                    timeout=args.timeout)
    print(f"Wrote {done.notebook}")
    for path in (done.html, done.markdown):
        if path is not None:
            print(f"Wrote {path}")
    if done.widget_js == "cdn":
        print("note: widget JavaScript could not be cached (npm unavailable); the HTML needs the network "
              "to draw widgets.")
    print(f"verdict: {done.verdict or 'unknown (the notebook printed none)'}")
    failing = ("unsafe",) if args.fail_on == "unsafe" else ("unsafe", "needs attention")
    return 1 if done.verdict in failing or done.verdict is None else 0
