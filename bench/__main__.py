"""``python -m bench [--quick] [--only NAME …] [--set SIZE=VALUE …] [--scratch DIR] [--rounds N] [--readme]``.

Prints one table. ``--readme`` also writes it into README.md between the performance markers,
with the machine it was measured on, so the README's figures always come from a run.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench import FULL, QUICK, REPO, Row, Sizes, compile_bytecode, format_table, machine
from bench.cases import CASES

README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks and print the results table."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds, for a smoke run)")
    parser.add_argument("--only", action="append", choices=sorted(CASES), metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(CASES)}")
    parser.add_argument("--scratch", metavar="DIR", help="where to build the data (kept for reuse when given)")
    parser.add_argument("--rounds", type=int, help="rounds per row (each contender once per round)")
    parser.add_argument("--set", action="append", default=[], metavar="SIZE=VALUE", dest="sizes",
                        help="override one size (repeatable), e.g. sample_users=100000, capture_mib=64,640; "
                             f"sizes: {', '.join(f.name for f in dataclasses.fields(FULL))}")
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.rounds:
        sizes = dataclasses.replace(sizes, rounds=args.rounds)
    for setting in args.sizes:
        sizes = _with_size(parser, sizes, setting)
    scratch = Path(args.scratch) if args.scratch else Path(tempfile.mkdtemp(prefix="lightnb-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    compile_bytecode()
    described = machine()
    print(f"Machine: {described}", flush=True)
    rows: list[Row] = []
    try:
        for name in args.only or list(CASES):
            print(f"running {name} …", file=sys.stderr, flush=True)
            started = time.perf_counter()
            try:
                rows.extend(CASES[name](scratch, sizes))
            except Exception as error:  # noqa: BLE001 - a benchmark that breaks still leaves a row saying why
                rows.append(Row(name, None, failed=f"{type(error).__name__}: {error}"[:300]))
            print(f"  {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    finally:
        if not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    table = format_table(rows)
    print(table)
    if args.readme:
        write_readme(REPO / "README.md", table, described, quick=args.quick, rounds=sizes.rounds,
                     changed=args.sizes)
    return 0


def _with_size(parser: argparse.ArgumentParser, sizes: Sizes, setting: str) -> Sizes:
    """Return ``sizes`` with one field set from ``NAME=VALUE`` (a tuple field takes ``A,B``)."""
    name, _, value = setting.partition("=")
    current = getattr(sizes, name, None)
    if current is None or not value:
        parser.error(f"--set {setting}: write SIZE=VALUE with SIZE one of "
                     f"{', '.join(f.name for f in dataclasses.fields(sizes))}")
    try:
        parsed = tuple(int(v) for v in value.split(",")) if isinstance(current, tuple) else int(value)
    except ValueError:
        parser.error(f"--set {setting}: the value must be a whole number (A,B for {name})")
    return dataclasses.replace(sizes, **{name: parsed})


def write_readme(readme: Path, table: str, described: str, *, quick: bool, rounds: int,
                 changed: list[str] | None = None) -> None:
    """Replace the text between the README's performance markers with this run's table."""
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(README_START) + ".*?" + re.escape(README_END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no {README_START} … {README_END} markers")
    when = time.strftime("%Y-%m-%d")
    sized = (" (--quick sizes)" if quick else "") + (f" with {', '.join(changed)}" if changed else "")
    block = (f"{README_START}\nMeasured by `make bench`{sized} on {when}: {described}. "
             f"Medians of {rounds} alternating rounds; ratios pair by pair.\n\n{table}\n{README_END}")
    readme.write_text(pattern.sub(lambda _: block, text), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
