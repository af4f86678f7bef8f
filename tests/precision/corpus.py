"""The precision corpus: migrations written in the idioms lightnb must judge exactly right.

Each ``cases/*.toml`` holds a production database (``base`` SQL, rows included), pending migrations,
and per migration what ``check`` and the impact of up.sql must say — exactly where a list is given,
and what must never be said. The lint rules are off unless ``lint = true``: these cases measure the
rehearsal and the impact, whatever the rules decide.
"""

from __future__ import annotations

import sqlite3
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CASES = Path(__file__).with_name("cases")


@dataclass(frozen=True)
class Case:
    """One corpus case, read from its TOML file."""

    name: str
    description: str
    base: str
    migrations: tuple[tuple[str, str, str], ...]
    metadata: dict[str, str] = field(default_factory=dict)  # migration name -> its metadata.toml
    expect: dict[str, dict[str, Any]] = field(default_factory=dict)
    lint: bool = False
    run_tests: bool = False


def load(path: Path) -> Case:
    """Read one case file."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    migrations = tuple((m["name"], m["up"], m["down"]) for m in data.get("migration", []))
    metadata = {m["name"]: m["metadata"] for m in data.get("migration", []) if "metadata" in m}
    return Case(path.stem, data.get("description", ""), data["base"], migrations, metadata, data.get("expect", {}),
                bool(data.get("lint", False)), bool(data.get("run_tests", False)))


def cases() -> list[Case]:
    """Every case of the corpus, in file order."""
    return [load(p) for p in sorted(CASES.glob("*.toml"))]


def build(case: Case, root: Path) -> tuple[Path, Path]:
    """Write the case's Diesel project and production database under ``root``; return (project, database)."""
    project = root / "project"
    (project / "migrations").mkdir(parents=True)
    (project / "diesel.toml").write_text('[print_schema]\nfile = "src/schema.rs"\n', encoding="utf-8")
    for name, up, down in case.migrations:
        folder = project / "migrations" / name
        folder.mkdir()
        (folder / "up.sql").write_text(up, encoding="utf-8")
        (folder / "down.sql").write_text(down, encoding="utf-8")
        if name in case.metadata:
            (folder / "metadata.toml").write_text(case.metadata[name], encoding="utf-8")
    database = root / "production.db"
    conn = sqlite3.connect(database)
    conn.executescript(case.base)
    conn.commit()
    conn.close()
    return project, database
