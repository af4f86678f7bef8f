"""``python -m bench [--quick] [--only NAME ...] [--scratch DIR]``: print one table of ratios."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from bench import FULL, QUICK, Row, Sizes, format_table, machine
from bench.cases import CASES


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks and print the results table."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds, for a smoke run)")
    parser.add_argument("--only", action="append", choices=sorted(CASES), metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(CASES)}")
    parser.add_argument("--scratch", metavar="DIR", help="where to build the data (kept for reuse when given)")
    parser.add_argument("--repeats", type=int, help="best of this many runs per measurement")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.repeats:
        sizes = Sizes(**{**vars(sizes), "repeats": args.repeats})
    scratch = Path(args.scratch) if args.scratch else Path(tempfile.mkdtemp(prefix="lightnb-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    print(f"Machine: {machine()}", flush=True)
    rows: list[Row] = []
    try:
        for name in args.only or list(CASES):
            print(f"running {name} …", file=sys.stderr, flush=True)
            try:
                rows.append(CASES[name](scratch, sizes))
            except Exception as error:  # a benchmark that breaks still leaves a row saying why
                rows.append(Row(name, None, "—", None, "—", notes=f"failed: {type(error).__name__}: {error}"))
    finally:
        if not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
