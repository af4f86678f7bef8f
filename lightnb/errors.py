"""One exception family for lightnb.

Every message is one line: what is wrong, and what to do about it. The CLI and the
notebook edge are the only places that format these for people (``str(error)``).
"""

from __future__ import annotations

from pathlib import Path


def with_advice(diesel_text: str, advice: str) -> str:
    """Return diesel_cli's error text followed by lightnb's advice, on one line.

    Where lightnb and diesel_cli fail for the same reason, the line starts with diesel's exact text
    (scripts that match it keep working) and lightnb's advice follows in ``(lightnb: …)``.
    """
    return f"{diesel_text} (lightnb: {advice})"


class LightnbError(Exception):
    """Base class of every error lightnb raises on purpose.

    :param message: one line naming the problem and the fix.
    """

    exit_code = 1

    def __init__(self, message: str, *, path: str | Path | None = None,
                 version: str | None = None, line: int | None = None) -> None:
        # Errors are for people: collapse any accidental newlines into one line.
        super().__init__(" ".join(str(message).split()))
        self.path = str(path) if path is not None else None
        self.version = version
        self.line = line

    @property
    def message(self) -> str:
        return str(self)


class ProjectError(LightnbError):
    """diesel.toml, lightnb settings, or DATABASE_URL are missing or invalid."""


class MigrationError(LightnbError):
    """A migration folder or file is missing, malformed, or failed to apply."""


class SqlError(MigrationError):
    """A statement of a migration failed; names the file, the line and the statement."""

    def __init__(self, message: str, *, path: str | Path | None = None,
                 version: str | None = None, line: int | None = None,
                 statement: str | None = None) -> None:
        super().__init__(message, path=path, version=version, line=line)
        self.statement = statement


class DatabaseError(LightnbError):
    """A database file is missing, not SQLite, corrupt, or cannot be opened."""


class UntranslatedDatabaseError(DatabaseError):
    """A database driver error that no module translated; the CLI says it with the database's state."""


class DatabaseBusyError(DatabaseError):
    """The database is locked by another connection."""


class WorkspaceError(LightnbError):
    """The workspace copy is missing or in a state that needs a reset."""


class SchemaOutOfSync(LightnbError):
    """The schema file differs from what the database prints."""

    def __init__(self, message: str, *, diff: str = "", path: str | Path | None = None) -> None:
        super().__init__(message, path=path)
        self.diff = diff


class LintFailed(LightnbError):
    """Lint found errors."""


class ModelDrift(LightnbError):
    """Rust model structs do not match schema.rs."""


class FileWriteError(LightnbError):
    """A file could not be written whole, or lightnb refused to write over something it did not make."""
