"""Find PostgreSQL's server programs (initdb, pg_ctl, postgres) and their version.

Debian installs them in ``/usr/lib/postgresql/<major>/bin``, outside ``PATH``; the newest major
version found there wins, then ``PATH``. ``LIGHTNB_PG_BINDIR`` overrides both.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lightnb.errors import DatabaseError

PROGRAMS = ("initdb", "pg_ctl", "postgres")
ENV_BINDIR = "LIGHTNB_PG_BINDIR"
DEBIAN_ROOT = Path("/usr/lib/postgresql")


class PostgresNotInstalled(DatabaseError):
    """PostgreSQL's server programs are not on this machine."""


@dataclass(frozen=True, slots=True)
class Binaries:
    """The server programs of one PostgreSQL installation.

    :param bin_dir: the folder holding initdb, pg_ctl and postgres.
    :param version: e.g. ``15.18``.
    :param major: e.g. ``15``.
    """

    bin_dir: Path
    version: str
    major: int

    def program(self, name: str) -> str:
        """Return the path of one program of this installation."""
        return str(self.bin_dir / name)


def _complete(folder: Path) -> bool:
    return all(os.access(folder / name, os.X_OK) for name in PROGRAMS)


def _candidates() -> list[Path]:
    given = os.environ.get(ENV_BINDIR)
    if given:
        return [Path(given)]
    found: list[Path] = []
    if DEBIAN_ROOT.is_dir():
        versions = [p for p in DEBIAN_ROOT.iterdir() if p.name.isdigit() or re.fullmatch(r"\d+\.\d+", p.name)]
        versions.sort(key=lambda p: tuple(int(x) for x in p.name.split(".")), reverse=True)
        found += [p / "bin" for p in versions]
    on_path = shutil.which("pg_ctl")
    if on_path:
        found.append(Path(on_path).resolve().parent)
    return found


@functools.cache
def find_binaries() -> Binaries:
    """Return the PostgreSQL installation lightnb uses for its private clusters.

    :raises PostgresNotInstalled: when no folder holds initdb, pg_ctl and postgres.
    """
    for folder in _candidates():
        if _complete(folder):
            return Binaries(folder, *_version(folder))
    where = os.environ.get(ENV_BINDIR) or f"{DEBIAN_ROOT}/*/bin or PATH"
    raise PostgresNotInstalled(
        f"PostgreSQL is not installed (no initdb, pg_ctl and postgres in {where}); install Debian's "
        f"postgresql and postgresql-contrib packages (`make system-deps`), or set {ENV_BINDIR} to the "
        f"folder that holds them.")


def _version(folder: Path) -> tuple[str, int]:
    try:
        out = subprocess.run([str(folder / "pg_ctl"), "--version"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as error:
        raise PostgresNotInstalled(f"Cannot run {folder / 'pg_ctl'} ({error}); reinstall PostgreSQL or "
                                   f"set {ENV_BINDIR}.") from error
    match = re.search(r"(\d+)(?:\.(\d+))?", out)
    if match is None:
        raise PostgresNotInstalled(f"Cannot read the version of {folder / 'pg_ctl'} ({out.strip()!r}); "
                                   f"reinstall PostgreSQL or set {ENV_BINDIR}.")
    return match.group(0), int(match.group(1))
