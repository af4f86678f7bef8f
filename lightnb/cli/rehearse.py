"""``lightnb rehearse``: run notebook 02 headless on a copy of the project and of production; write a report."""

from __future__ import annotations

import argparse

from lightnb import steps
from lightnb.cli._common import sql_timeout_option

NOTHING_TO_REHEARSE = 3  # exit status when no migration is pending (distinct from safe and from failure)

EPILOG = """exit status:
  0  the verdict is safe (or needs attention, with --fail-on unsafe)
  1  the verdict fails --fail-on, or the rehearsal could not run (one line on stderr)
  2  bad command line
  3  nothing to rehearse: every migration is already applied to production (nothing is written)"""


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``rehearse`` verb's arguments."""
    parser.description = ("Execute the rehearsal notebook with papermill against a copy of the project and a copy "
                          "of production (neither is written) and write the executed notebook and an HTML/Markdown "
                          "report into OUTDIR. Production is PROD.db (SQLite), or a postgres:// URL copied "
                          "read-only with pg_dump into a private cluster made for the rehearsal and removed "
                          "afterwards; default: `production` in lightnb.toml. Needs the workbook extra.")
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--project", metavar="DIR", default=".", help="the Diesel project folder (default: .)")
    production = parser.add_mutually_exclusive_group()
    production.add_argument("--database", metavar="PROD.db", help="the production database to copy (SQLite)")
    production.add_argument("--database-url", dest="database", metavar="URL",
                            help="production as a URL (postgres://…, only read: a role that may SELECT is enough)")
    parser.add_argument("--out", metavar="OUTDIR", required=True, help="where to write the results")
    parser.add_argument("--limit", type=int, metavar="N", help="apply only the next N pending migrations")
    parser.add_argument("--run-tests", action="store_true", help="also run the project's own test command")
    parser.add_argument("--timeout", type=int, default=600, metavar="SECONDS", help="per-cell time limit")
    sql_timeout_option(parser)
    parser.add_argument("--fail-on", choices=("attention", "unsafe"), default="attention",
                        help="exit 1 when the verdict is 'needs attention' or worse (default), or only 'unsafe'")
    parser.set_defaults(func=_rehearse)


def _rehearse(args: argparse.Namespace) -> int:
    done = steps.rehearse(args.project, args.database, args.out, limit=args.limit, run_tests=args.run_tests,
                    timeout=args.timeout)
    if done.nothing_pending:
        print(f"nothing to rehearse: every migration is already applied to {done.production or 'production'}; "
              f"nothing was written (exit status {NOTHING_TO_REHEARSE})")
        return NOTHING_TO_REHEARSE
    for path in (done.notebook, done.html, done.markdown):
        if path is not None:
            print(f"Wrote {path}")
    print(f"rehearsed: {', '.join(done.pending)} (on a copy of {done.production})")
    print(f"verdict: {done.verdict or 'unknown (the notebook printed none)'}")
    failing = ("unsafe",) if args.fail_on == "unsafe" else ("unsafe", "needs attention")
    return 1 if done.verdict in failing or done.verdict is None else 0
