"""``lightnb sample DEST``: the bundled sample project and its generated production database."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from lightnb import steps


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``sample`` verb's arguments."""
    parser.description = (
        "Copy the bundled sample backend to DEST/sample_backend, generate its production "
        "database DEST/production.db (deterministic for a seed), and make a workspace copy "
        "of it in DEST/sample_backend/.lightnb/. The project's .env points DATABASE_URL at "
        "that copy: commands run in the project folder never touch production.")
    users, seed = steps.sample_defaults()
    parser.add_argument("dest", metavar="DEST", type=Path, help="folder to create (must be new or empty)")
    parser.add_argument("--users", type=_count, default=users,
                        help=f"number of users to generate (default {users:,}; "
                             f"1000000 gives about 0.9 GB)")
    parser.add_argument("--seed", type=int, default=seed,
                        help=f"random seed; the same seed gives the same bytes (default {seed})")
    parser.add_argument("--no-workspace", action="store_true",
                        help="do not make the workspace copy nor the .env")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite",
                        help="sqlite (default), or postgres: the PostgreSQL variant, its databases in a private "
                             "cluster of the project (.lightnb/pg), started by any command that needs it")
    parser.set_defaults(func=run)


def _count(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def run(args: argparse.Namespace) -> int:
    """Create the sample workbook and say where everything is."""
    started = time.perf_counter()
    made = steps.sample(args.dest, users=args.users, seed=args.seed, workspace=not args.no_workspace,
                        backend=args.backend)
    seconds = time.perf_counter() - started
    if args.backend == "postgres":
        return _postgres_lines(args, made, seconds)
    size = made.production_db.stat().st_size / (1 << 20)
    print(f"Created project     {made.project_dir}")
    print(f"Created production  {made.production_db} ({args.users:,} users, {size:.1f} MiB, "
          f"seed {args.seed}, {seconds:.1f} s)")
    if not args.no_workspace:
        print(f"Created workspace   {made.project_dir / steps.DEFAULT_DIRNAME} "
              f"(DATABASE_URL in {made.project_dir / '.env'})")
    print(f"Next: cd {made.project_dir} && lightnb migration list")
    return 0


def _postgres_lines(args: argparse.Namespace, made: Any, seconds: float) -> int:
    """Say where the PostgreSQL sample is: project, cluster, production, workspace copy."""
    print(f"Created project     {made.project_dir}")
    print(f"Created cluster     {made.cluster_dir} (PostgreSQL {made.postgres_version}, started in "
          f"{made.cluster_seconds:.2f} s, now stopped; any lightnb command that needs it starts it)")
    print(f"Created production  {made.production_url} ({args.users:,} users, "
          f"{made.production_bytes / (1 << 20):.1f} MiB, seed {args.seed}, {seconds:.1f} s)")
    if made.workspace_url is not None:
        print(f"Created workspace   {made.workspace_url} (DATABASE_URL in {made.project_dir / '.env'})")
    print(f"Next: cd {made.project_dir} && lightnb migration list")
    return 0
