"""diesel's default PostgreSQL migration ``00000000000000_diesel_initial_setup``, byte for byte.

``diesel setup`` writes it into a new PostgreSQL project (diesel_cli 2.3.12
``src/setup_sql/postgres/initial_setup/{up,down}.sql``): two plpgsql helpers,
``diesel_manage_updated_at`` and ``diesel_set_updated_at``, and no table.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

NAME = "00000000000000_diesel_initial_setup"
INITIAL_SETUP_VERSION = "00000000000000"

UP_SQL = """\
-- This file was automatically created by Diesel to setup helper functions
-- and other internal bookkeeping. This file is safe to edit, any future
-- changes will be added to existing projects as new migrations.




-- Sets up a trigger for the given table to automatically set a column called
-- `updated_at` whenever the row is modified (unless `updated_at` was included
-- in the modified columns)
--
-- # Example
--
-- ```sql
-- CREATE TABLE users (id SERIAL PRIMARY KEY, updated_at TIMESTAMP NOT NULL DEFAULT NOW());
--
-- SELECT diesel_manage_updated_at('users');
-- ```
CREATE OR REPLACE FUNCTION diesel_manage_updated_at(_tbl regclass) RETURNS VOID AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER set_updated_at BEFORE UPDATE ON %s
                    FOR EACH ROW EXECUTE PROCEDURE diesel_set_updated_at()', _tbl);
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION diesel_set_updated_at() RETURNS trigger AS $$
BEGIN
    IF (
        NEW IS DISTINCT FROM OLD AND
        NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at
    ) THEN
        NEW.updated_at := current_timestamp;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

DOWN_SQL = """\
-- This file was automatically created by Diesel to setup helper functions
-- and other internal bookkeeping. This file is safe to edit, any future
-- changes will be added to existing projects as new migrations.

DROP FUNCTION IF EXISTS diesel_manage_updated_at(_tbl regclass);
DROP FUNCTION IF EXISTS diesel_set_updated_at();
"""


def _write_new(path: Path, text: str) -> None:
    """Write a file that does not exist yet, atomically (temporary file, then link into place)."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
        os.link(temporary, path)  # fails if the file appeared meanwhile: never overwrite
    finally:
        os.unlink(temporary)


def write_initial_setup(migrations_dir: str | Path) -> Path | None:
    """Write diesel's initial-setup migration into ``migrations_dir``, as ``diesel setup`` does.

    Like diesel, nothing is written when the migration's folder already exists.

    :returns: the new migration folder, or None when it existed.
    """
    folder = Path(migrations_dir) / NAME
    if folder.exists():
        return None
    folder.mkdir(parents=True)
    _write_new(folder / "up.sql", UP_SQL)
    _write_new(folder / "down.sql", DOWN_SQL)
    return folder
