"""The PostgreSQL lint rules by id: default severity and one-line summary.

Kept outside the PostgreSQL backend package (whose import loads psycopg), so reading lightnb.toml's
``[lint]`` or printing ``lightnb lint --help`` in a SQLite project loads no driver or parser.
"""

from __future__ import annotations

from lightnb.lint.finding import Severity

RULES: dict[str, tuple[Severity, str]] = {
    "pg-index-not-concurrent": ("warning", "CREATE INDEX without CONCURRENTLY on an existing table blocks its "
                                           "writes while the index builds"),
    "pg-concurrently-in-transaction": ("error", "CREATE/DROP INDEX CONCURRENTLY cannot run inside the "
                                                "migration's transaction"),
    "pg-constraint-not-valid": ("warning", "a FOREIGN KEY or CHECK added to an existing table without NOT VALID "
                                           "scans it under a lock that blocks writes"),
    "pg-set-not-null": ("warning", "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE unless a validated "
                                   "CHECK (col IS NOT NULL) exists"),
    "pg-type-change": ("warning", "ALTER COLUMN … TYPE rewrites the table under ACCESS EXCLUSIVE (most changes)"),
    "pg-volatile-default": ("warning", "ADD COLUMN with a volatile DEFAULT rewrites the table under ACCESS "
                                       "EXCLUSIVE"),
    "pg-rename": ("warning", "renaming a table or column breaks the running application's queries"),
    "pg-lock-timeout": ("info", "a migration that locks an existing table should SET lock_timeout first"),
    "pg-int4-epoch": ("warning", "an INTEGER (int4) Unix timestamp overflows on 2038-01-19"),
    "pg-int4-boolean": ("info", "an INTEGER column used as a boolean: PostgreSQL has BOOLEAN"),
    "pg-run-fails": ("error", "up.sql fails on a clone of the copy (`lint` with a database; `check` shows more)"),
}
