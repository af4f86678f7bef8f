"""The bundled sample: a small Diesel backend and a deterministic fake "production" database.

``data/sample_backend`` (in the source tree) is the single source of truth for the project, and
``data/sample_backend_pg`` for its PostgreSQL variant (the same tables and history, written for
PostgreSQL). diesel's ``00000000000000_diesel_initial_setup`` migration of the PostgreSQL variant is
not kept there: a copy gets it from :mod:`lightnb.backends.postgres.initial_setup`, as
``diesel setup`` writes it, so diesel's bytes live in one place. The production database is
generated on demand, never committed: the backend's own migrations are applied (so its
``__diesel_schema_migrations`` table is exactly diesel's), then the tables are filled with fake but
realistic rows: names, e-mail addresses, E.164 phone numbers, argon2 password hashes,
encrypted-looking OAuth tokens and Unix timestamps.

The rows do not depend on the backend (:func:`fake_rows`); a small writer per backend stores them:
``executemany`` into a SQLite file (:func:`generate_database`, a fixed seed gives a byte-identical
file), ``COPY`` into a new PostgreSQL database (:func:`generate_postgres_database`, the same rows).
Rows are generated in batches, so a million users need bounded memory.

The guided notebook's exercise is :data:`EXERCISE`: adding ``user_settings.theme`` with a default,
which no sample migration does yet.
"""

from __future__ import annotations

import base64
import os
import random
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from lightnb import migrations as migrations_module
from lightnb import runner
from lightnb.backends import sqlite
from lightnb.catalog import TRACKING_TABLE
from lightnb.errors import DatabaseError, ProjectError
from lightnb.files import write_text_atomic
from lightnb.project import Project

DEFAULT_USERS = 10_000
DEFAULT_SEED = 20251124
SAMPLE_DIR_ENV = "LIGHTNB_SAMPLE_DIR"
SAMPLE_PG_DIR_ENV = "LIGHTNB_SAMPLE_PG_DIR"
PROJECT_DIRNAME = "sample_backend"
PG_PROJECT_DIRNAME = "sample_backend_pg"
BACKENDS = ("sqlite", "postgres")
PRODUCTION_NAME = "production.db"
WORKSPACE_DIRNAME = ".lightnb"
BATCH_USERS = 2_000

# "Now" of the fake production: every timestamp lies before it, so the data never depends on
# the clock (2025-11-24T00:00:00Z). Signups start on 2023-01-01T00:00:00Z.
NOW = 1_763_942_400
FIRST_SIGNUP = 1_672_531_200
HOUR = 3_600
DAY = 86_400


@dataclass(frozen=True, slots=True)
class Exercise:
    """The migration the guided notebook writes on the sample: a column with a default."""

    name: str
    table: str
    column: str
    up_sql: str
    down_sql: str


EXERCISE = Exercise(
    name="add_theme_to_user_settings",
    table="user_settings",
    column="theme",
    up_sql="ALTER TABLE user_settings ADD COLUMN theme TEXT NOT NULL DEFAULT 'system';\n",
    down_sql="ALTER TABLE user_settings DROP COLUMN theme;\n",
)


class SampleWorkbook(NamedTuple):
    """Where :func:`sample_workbook` put the project and its production database."""

    project_dir: Path
    production_db: Path


# --------------------------------------------------------------------------- the project


def sample_source(backend: str = "sqlite") -> Path:
    """Return the folder of the bundled sample backend (its PostgreSQL variant for ``postgres``).

    Looked up in order: ``$LIGHTNB_SAMPLE_DIR`` (``$LIGHTNB_SAMPLE_PG_DIR``),
    ``lightnb/sample/sample_backend`` (``sample_backend_pg``) inside the installed package (a wheel
    build may place it there), ``data/sample_backend`` (``data/sample_backend_pg``) of the source
    checkout this package was imported from.

    :raises ProjectError: when none of them holds a diesel.toml.
    :raises ValueError: for a backend other than ``sqlite`` and ``postgres``.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    dirname, env = (PG_PROJECT_DIRNAME, SAMPLE_PG_DIR_ENV) if backend == "postgres" else (PROJECT_DIRNAME,
                                                                                         SAMPLE_DIR_ENV)
    package = Path(__file__).resolve().parent
    candidates = [package / "sample" / dirname, package.parent / "data" / dirname]
    if os.environ.get(env):
        candidates.insert(0, Path(os.environ[env]))
    for candidate in candidates:
        if (candidate / "diesel.toml").is_file():
            return candidate
    raise ProjectError(
        f"The bundled sample backend is missing (looked in {', '.join(str(c) for c in candidates)}); "
        f"install lightnb from a source checkout (`pip install -e .`) or set {env} to a "
        f"copy of data/{dirname}.")


def copy_sample_project(dest: str | Path, *, backend: str = "sqlite") -> Path:
    """Copy the sample backend (its PostgreSQL variant for ``postgres``) into ``dest``, which must
    not exist, or be an empty folder.

    Build outputs, databases and local ``.env`` files of the source are not copied.

    :returns: ``dest``.
    :raises ProjectError: when ``dest`` is a file or a non-empty folder.
    """
    target = Path(dest)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ProjectError(f"{target} already exists and is not an empty folder; choose a new folder "
                           f"for the sample project.", path=target)
    ignore = shutil.ignore_patterns("target", "*.db", "*.db-journal", ".env", WORKSPACE_DIRNAME,
                                    ".diesel_lock", "__pycache__")
    partial = None
    try:  # whole or not at all: copied beside the target, then renamed into place
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{target.name[:60]}.", dir=target.parent))
        shutil.copytree(sample_source(backend), partial, ignore=ignore, dirs_exist_ok=True)
        if backend == "postgres":
            _write_initial_setup(partial / "migrations")
        os.replace(partial, target)
    except OSError as error:
        raise ProjectError(f"Cannot copy the sample project to {target}: {error}; choose a writable "
                           f"folder.", path=target) from error
    finally:
        if partial is not None:
            shutil.rmtree(partial, ignore_errors=True)
    return target


def _write_initial_setup(migrations_dir: Path) -> None:
    """Write diesel's PostgreSQL initial-setup migration into a copy of the sample, as ``diesel setup`` does
    (nothing when the copied source already has it)."""
    from lightnb.backends.postgres.initial_setup import write_initial_setup
    write_initial_setup(migrations_dir)


# --------------------------------------------------------------------------- the database


def generate_database(path: str | Path, *, users: int = DEFAULT_USERS, seed: int = DEFAULT_SEED,
                      project_dir: str | Path | None = None, overwrite: bool = False) -> Path:
    """Create the sample's fake production database at ``path``, deterministically.

    The schema comes from applying the project's migrations with :mod:`lightnb.runner`; the
    rows from a PRNG seeded with ``seed``. Same arguments, same bytes.

    :param users: how many users (every other table scales with it).
    :param project_dir: the backend whose migrations build the schema (default: the sample).
    :param overwrite: replace an existing file instead of refusing.
    :returns: ``path``.
    :raises DatabaseError: when ``path`` exists (and not ``overwrite``) or cannot be written.
    :raises ProjectError: when the project's schema is not the sample's.
    """
    if users < 0:
        raise ValueError("users must be >= 0")
    target = Path(path)
    if target.exists() and not overwrite:
        raise DatabaseError(f"{target} already exists; delete it, choose another path, or pass "
                            f"overwrite=True.", path=target)
    project = Project.discover(project_dir if project_dir is not None else sample_source(), environ={})
    found = migrations_module.discover(project.migrations_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.generating")
    _remove_database(tmp)
    try:
        conn = sqlite.connect(tmp)
        try:
            runner.run_pending(conn, found)
            _fill(conn, users=users, seed=seed, path=tmp)
            _date_tracking_rows(conn)
        finally:
            conn.close()
        os.replace(tmp, target)
    except BaseException:
        _remove_database(tmp)
        raise
    return target


def generate_postgres_database(url: str, *, users: int = DEFAULT_USERS, seed: int = DEFAULT_SEED,
                               project_dir: str | Path | None = None) -> str:
    """Create the sample's fake production database on a PostgreSQL server: the database ``url`` names.

    The database must not exist yet. It is built under a temporary name on the same server (the
    project's migrations run with diesel's semantics, then the rows of :func:`fake_rows` are loaded
    with COPY, the identity sequences moved past them) and renamed into place only when complete;
    on any failure nothing is left behind. Its rows are the ones :func:`generate_database` writes
    to SQLite for the same seed.

    :param project_dir: the backend whose migrations build the schema (default: a private copy of the
        sample's PostgreSQL variant, as :func:`copy_sample_project` makes it).
    :returns: ``url``.
    :raises DatabaseError: when the database exists, or the server refuses to create it.
    :raises ConnectError: when the server cannot be reached.
    :raises ProjectError: when the project's migrations do not build the sample's tables.
    :raises MigrationError: when a migration fails (nothing is left behind).
    """
    from lightnb.backends.postgres import load
    from lightnb.backends.postgres.connect import connect
    from lightnb.backends.postgres.migrate import run_pending

    if users < 0:
        raise ValueError("users must be >= 0")
    if project_dir is None:
        from lightnb import scratch
        with scratch.folder("sample") as folder:
            copied = copy_sample_project(folder / PROJECT_DIRNAME, backend="postgres")
            return generate_postgres_database(url, users=users, seed=seed, project_dir=copied)
    project = Project.discover(project_dir, environ={})
    with load.building_database(url) as building, connect(building) as conn:
        run_pending(conn, project.migrations_dir)
        conn.execute("SET synchronous_commit = off")  # a new database: nothing to protect until it is renamed
        try:
            with conn.transaction():
                _write_all(lambda table, rows: load.copy_rows(conn, table, TABLE_COLUMNS[table], rows),
                           users=users, seed=seed)
                for table in TABLE_COLUMNS:
                    load.restart_identity(conn, table)
                versions = [v for (v,) in conn.execute(f"SELECT version FROM {runner.TRACKING_TABLE}")]
                for version, stamp in _tracking_stamps(versions).items():
                    conn.execute(f"UPDATE {runner.TRACKING_TABLE} SET run_on = %s WHERE version = %s",
                                 (stamp, version))
        except load.NoSuchColumn as error:
            raise ProjectError(f"The project's migrations do not build the sample's schema ({error}); "
                               f"generate data for the bundled sample backend only.") from error
        conn.execute("ANALYZE")  # planner statistics, as a production database has them
    return url


def sample_workbook(dest: str | Path, *, users: int = DEFAULT_USERS, seed: int = DEFAULT_SEED,
                    workspace: bool = True) -> SampleWorkbook:
    """Set up everything the workbook needs in ``dest``.

    Writes ``dest/sample_backend`` (the project), ``dest/production.db`` (never written again),
    and, with ``workspace``, a workspace copy of production in ``sample_backend/.lightnb/``
    which the project's ``.env`` names as ``DATABASE_URL``: commands run in the project folder
    act on the copy, never on production. ``lightnb.toml`` records where production is.

    :raises ProjectError: when ``dest/sample_backend`` exists and is not empty.
    :raises DatabaseError: when ``dest/production.db`` already exists.
    """
    root = Path(dest).resolve()
    production = root / PRODUCTION_NAME
    if production.exists():
        raise DatabaseError(f"{production} already exists; choose a new folder for the sample.",
                            path=production)
    project = copy_sample_project(root / PROJECT_DIRNAME)
    generate_database(production, users=users, seed=seed, project_dir=project)
    settings = project / "lightnb.toml"
    shipped = settings.read_text(encoding="utf-8") if settings.is_file() else ""
    write_text_atomic(settings,  # top-level keys must come before the shipped [tables]
                      "# The production database: only ever read, copied into the workspace.\n"
                      f"production = {_toml_string(os.path.relpath(production, project))}\n\n" + shipped,
                      what="settings file")
    if workspace:
        from lightnb.workspace import Workspace  # the only module that copies databases

        copy = Workspace.create(production, project / WORKSPACE_DIRNAME)
        write_text_atomic(project / ".env",
                          "# The workbook works on a copy of production, never on production itself.\n"
                          f"DATABASE_URL={copy.path}\n", what="settings file")
    return SampleWorkbook(project, production)


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _remove_database(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _tracking_stamps(versions: list[str]) -> dict[str, str]:
    """Return the run_on each applied migration gets: its own version's timestamp.

    A real production database was migrated over time; this also keeps the data the same between
    runs (diesel leaves run_on to CURRENT_TIMESTAMP). A version that is not a date (PostgreSQL's
    ``00000000000000_diesel_initial_setup``, run by ``diesel setup`` first) gets the earliest one.
    """
    stamps = {v: f"{v[0:4]}-{v[4:6]}-{v[6:8]} {v[8:10]}:{v[10:12]}:{v[12:14]}" for v in versions
              if len(v) >= 14 and v[:14].isdigit() and v[:14] != "0" * 14}
    if stamps:
        earliest = min(stamps.values())
        stamps.update({v: earliest for v in versions if v not in stamps and v[:14] == "0" * 14})
    return stamps


def _date_tracking_rows(conn: sqlite.Connection) -> None:
    """Give each applied migration the run_on of its own version's timestamp (see :func:`_tracking_stamps`)."""
    versions = [version for (version,) in conn.execute(f"SELECT version FROM {TRACKING_TABLE}")]
    for version, stamp in _tracking_stamps(versions).items():
        conn.execute(f"UPDATE {TRACKING_TABLE} SET run_on = ? WHERE version = ?", (stamp, version))


# The sample's tables, parents first, with the columns of the rows :func:`fake_rows` yields, in order.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("id", "email", "display_name", "phone_number", "password_hash", "created_at", "updated_at"),
    "user_settings": ("id", "user_id", "timezone", "notify_by_email", "notify_by_sms", "quiet_hours_start",
                      "quiet_hours_end", "updated_at", "locale"),
    "oauth_connections": ("id", "user_id", "provider", "external_account_id", "access_token_encrypted",
                          "refresh_token_encrypted", "scopes", "expires_at", "created_at"),
    "message_log": ("id", "user_id", "direction", "channel", "body_preview", "status", "sent_at"),
}
_INSERTS = {table: f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            for table, columns in TABLE_COLUMNS.items()}

Batch = dict[str, list[tuple[object, ...]]]
"""The rows of some users, per table of :data:`TABLE_COLUMNS` (in its order: parents first)."""


def fake_rows(*, users: int = DEFAULT_USERS, seed: int = DEFAULT_SEED, batch_users: int | None = None
              ) -> Iterator[Batch]:
    """Yield the sample's fake production rows, ``batch_users`` users at a time (default :data:`BATCH_USERS`).

    The same users and seed give the same rows, whatever stores them; each table's keys count from 1.
    """
    if users < 0:
        raise ValueError("users must be >= 0")
    yield from _Faker(random.Random(seed), users).batches(batch_users or BATCH_USERS)


def _write_all(write: Callable[[str, list[tuple[object, ...]]], object], *, users: int, seed: int) -> None:
    """Hand every batch's rows, table by table, to a backend's writer."""
    for batch in fake_rows(users=users, seed=seed):
        for table, rows in batch.items():
            if rows:
                write(table, rows)


def _fill(conn: sqlite.Connection, *, users: int, seed: int, path: Path) -> None:
    """Insert every table's rows in one transaction, batch by batch (bounded memory)."""
    conn.execute("PRAGMA journal_mode=OFF")  # a fresh file: nothing to protect, speed matters
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-65536")
    try:
        conn.execute("BEGIN")
        _write_all(lambda table, rows: conn.executemany(_INSERTS[table], rows), users=users, seed=seed)
        conn.execute("COMMIT")
    except sqlite.Error as error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if "no such table" in str(error) or "has no column" in str(error):
            raise ProjectError(f"The project's migrations do not build the sample's schema ({error}); "
                               f"generate data for the bundled sample backend only.") from error
        raise sqlite.translate(error, path, doing=" while generating sample data") from error


# --------------------------------------------------------------------------- fake data


@dataclass(frozen=True, slots=True)
class _Country:
    calling_code: str
    weight: int
    locale: str
    timezones: tuple[str, ...]
    mobile_prefixes: tuple[str, ...]
    digits: int  # digits after the prefix
    domains: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(","))


_COUNTRIES = (
    _Country("+1", 30, "en-US", ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
             ("212", "312", "415", "512", "617", "206", "303", "305", "646", "702"), 7, ("comcast.net",),
             _names("James, Mary, Michael, Patricia, Robert, Jennifer, John, Linda, David, Elizabeth, William, "
                    "Barbara, Richard, Susan, Joseph, Jessica, Thomas, Sarah, Christopher, Karen, Daniel, "
                    "Emily, Matthew, Ashley, Anthony, Olivia, Andrew, Madison, Joshua, Abigail"),
             _names("Smith, Johnson, Williams, Brown, Jones, Garcia, Miller, Davis, Rodriguez, Martinez, "
                    "Hernandez, Lopez, Gonzalez, Wilson, Anderson, Taylor, Moore, Jackson, Martin, Lee, "
                    "Perez, Thompson, White, Harris, Clark, Lewis, Walker, Young, Allen, O'Brien")),
    _Country("+44", 12, "en-GB", ("Europe/London",), ("74", "75", "77", "78", "79"), 8, ("btinternet.com",),
             _names("Oliver, Amelia, George, Isla, Harry, Ava, Jack, Mia, Charlie, Ivy, Jacob, Lily, Oscar, "
                    "Freya, Alfie, Florence, Henry, Evie, Arthur, Poppy"),
             _names("Smith, Jones, Taylor, Brown, Williams, Wilson, Davies, Evans, Thomas, Roberts, Walker, "
                    "Wright, Robinson, Thompson, Hughes, Edwards, Green, Hall, Wood, Clarke")),
    _Country("+49", 12, "de-DE", ("Europe/Berlin",), ("151", "152", "157", "160", "162", "170", "171", "176"), 8,
             ("gmx.de", "web.de"),
             _names("Ben, Emma, Paul, Mia, Leon, Hannah, Finn, Sophia, Elias, Emilia, Jonas, Lina, Luis, Marie, "
                    "Noah, Lea, Felix, Clara, Lukas, Johanna"),
             _names("Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz, Hoffmann, "
                    "Schäfer, Koch, Bauer, Richter, Klein, Wolf, Schröder, Neumann, Schwarz, Zimmermann")),
    _Country("+33", 10, "fr-FR", ("Europe/Paris",), ("6", "7"), 8, ("orange.fr", "free.fr"),
             _names("Gabriel, Jade, Léo, Louise, Raphaël, Ambre, Arthur, Alice, Louis, Emma, Jules, Rose, Adam, "
                    "Anna, Lucas, Léa, Hugo, Chloé, Nathan, Zoé"),
             _names("Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau, Simon, "
                    "Laurent, Lefèvre, Michel, Garcia, David, Bertrand, Roux, Vincent, Fournier")),
    _Country("+358", 12, "fi-FI", ("Europe/Helsinki",), ("40", "41", "44", "45", "50"), 7, ("elisanet.fi",),
             _names("Aino, Eino, Helmi, Väinö, Aada, Leo, Sofia, Onni, Olivia, Elias, Eevi, Oliver, Venla, "
                    "Toivo, Lilja, Eetu, Emma, Niilo, Ilona, Juho"),
             _names("Korhonen, Virtanen, Mäkinen, Nieminen, Mäkelä, Hämäläinen, Laine, Heikkinen, Koskinen, "
                    "Järvinen, Lehtonen, Lehtinen, Saarinen, Salminen, Heinonen, Niemi, Heikkilä, Kinnunen, "
                    "Salonen, Turunen")),
    _Country("+46", 8, "sv-SE", ("Europe/Stockholm",), ("70", "72", "73", "76"), 7, ("telia.com",),
             _names("Alice, Lucas, Maja, Liam, Elsa, William, Astrid, Elias, Wilma, Noah, Freja, Hugo, Saga, "
                    "Oliver, Ebba, Adam, Alma, Axel, Ella, Nils"),
             _names("Andersson, Johansson, Karlsson, Nilsson, Eriksson, Larsson, Olsson, Persson, Svensson, "
                    "Gustafsson, Pettersson, Jonsson, Jansson, Hansson, Bengtsson, Jönsson, Lindberg, "
                    "Jakobsson, Magnusson, Lindström")),
    _Country("+34", 8, "es-ES", ("Europe/Madrid",), ("6",), 8, ("telefonica.net",),
             _names("Lucía, Hugo, Sofía, Martín, María, Mateo, Martina, Leo, Julia, Pablo, Paula, Daniel, "
                    "Valeria, Alejandro, Emma, Manuel, Daniela, Álvaro, Carla, Adrián"),
             _names("García, Rodríguez, González, Fernández, López, Martínez, Sánchez, Pérez, Gómez, Martín, "
                    "Jiménez, Ruiz, Hernández, Díaz, Moreno, Muñoz, Álvarez, Romero, Alonso, Gutiérrez")),
    _Country("+31", 8, "nl-NL", ("Europe/Amsterdam",), ("6",), 8, ("ziggo.nl", "kpnmail.nl"),
             _names("Noah, Emma, Sem, Julia, Liam, Mila, Lucas, Tess, Daan, Sophie, Finn, Zoë, Levi, Sara, "
                    "Luuk, Nora, Milan, Yara, Bram, Eva"),
             _names("de Jong, Jansen, de Vries, van den Berg, van Dijk, Bakker, Janssen, Visser, Smit, Meijer, "
                    "de Boer, Mulder, de Groot, Bos, Vos, Peters, Hendriks, van Leeuwen, Dekker, Brouwer")),
)
_COUNTRY_WEIGHTS = tuple(c.weight for c in _COUNTRIES)
_MAIL_DOMAINS = ("gmail.com", "gmail.com", "gmail.com", "gmail.com", "outlook.com", "outlook.com", "hotmail.com",
                 "yahoo.com", "icloud.com", "proton.me")


@dataclass(frozen=True, slots=True)
class _Provider:
    name: str
    chance: float
    scopes: str
    lifetime: int  # seconds an access token lives
    token_bytes: tuple[int, int]


_PROVIDERS = (
    _Provider("google", 0.28, "openid email https://www.googleapis.com/auth/calendar.readonly "
              "https://www.googleapis.com/auth/gmail.readonly", HOUR, (120, 180)),
    _Provider("microsoft", 0.12, "openid offline_access User.Read Mail.Read Calendars.Read", HOUR, (140, 200)),
    _Provider("slack", 0.08, "channels:read chat:write users:read", 12 * HOUR, (50, 60)),
    _Provider("github", 0.05, "read:user repo", 8 * HOUR, (40, 40)),
)

_OUTBOUND = (
    "Your verification code is {code}",
    "Your verification code is {code}",
    "Reminder: {event} starts at {hh}:{mm}",
    "You have {n} new emails, the latest from {first}",
    "Your weekly summary is ready: {n} meetings, {m} unread threads",
    "Your password was changed. If this wasn't you, reset it now.",
    "{first} replied to your message",
    "Heads up: {event} moved to {hh}:{mm} tomorrow",
    "Your Google connection expired. Reconnect it in Settings.",
)
_INBOUND = (
    "Yes", "No", "STOP", "Thanks!", "What's on my calendar tomorrow?",
    "Remind me to call {first} at {h}pm", "Move {event} to next week",
    "Did {first} answer my email?", "Snooze for an hour",
)
_EVENTS = ("Team standup", "1:1 with {first}", "Dentist", "Sprint review", "Lunch with {first}",
           "Board meeting", "Yoga class", "Flight to Berlin", "Parent-teacher meeting")
_OUTBOUND_STATUS = ("delivered",) * 17 + ("sent", "sent", "failed")


class _Faker:
    """Fake rows for every table of the sample, drawn from one seeded PRNG in a fixed order."""

    def __init__(self, rng: random.Random, users: int) -> None:
        self.rng = rng
        self.users = users
        self.ascii: dict[str, str] = {}
        self.settings_id = 0
        self.oauth_id = 0
        self.message_id = 0

    def batches(self, size: int) -> Iterator[dict[str, list[tuple[object, ...]]]]:
        """Yield the rows of ``size`` users at a time, per table, parents first."""
        for start in range(1, self.users + 1, size):
            batch: Batch = {table: [] for table in TABLE_COLUMNS}
            for user_id in range(start, min(start + size, self.users + 1)):
                self._user(user_id, batch)
            yield batch

    def _user(self, user_id: int, out: dict[str, list[tuple[object, ...]]]) -> None:
        rng = self.rng
        country = rng.choices(_COUNTRIES, _COUNTRY_WEIGHTS)[0]
        first, last = rng.choice(country.first_names), rng.choice(country.last_names)
        # Ids follow signup order, and signups grow over time (more users per day lately).
        share = user_id / max(self.users, 1)
        created = FIRST_SIGNUP + int((NOW - DAY - FIRST_SIGNUP) * share ** 0.6) + rng.randrange(HOUR)
        updated = created + int((NOW - created) * rng.random() ** 3)
        phone = self._phone(country) if rng.random() < 0.86 else None
        out["users"].append((user_id, self._email(first, last, user_id, country), f"{first} {last}", phone,
                             self._password_hash(), created, updated))
        if rng.random() < 0.93:
            self._settings(user_id, country, phone, created, out["user_settings"])
        for provider in _PROVIDERS:
            if rng.random() < provider.chance:
                self._oauth(user_id, provider, created, out["oauth_connections"])
        self._messages(user_id, phone, created, out["message_log"])

    def _ascii(self, name: str) -> str:
        plain = self.ascii.get(name)
        if plain is None:
            decomposed = unicodedata.normalize("NFKD", name)
            plain = "".join(c for c in decomposed.encode("ascii", "ignore").decode().lower() if c.isalnum())
            self.ascii[name] = plain
        return plain

    def _email(self, first: str, last: str, user_id: int, country: _Country) -> str:
        rng, f, g = self.rng, self._ascii(first), self._ascii(last)
        local = rng.choice((f"{f}.{g}", f"{f}{g}", f"{f[0]}{g}", f"{g}.{f}", f"{f}_{g}"))
        domain = rng.choice(country.domains) if rng.random() < 0.2 else rng.choice(_MAIL_DOMAINS)
        # The id as suffix keeps every address unique: names never end in a digit.
        return f"{local}{user_id}@{domain}"

    def _phone(self, country: _Country) -> str:
        rng = self.rng
        n = country.digits
        return f"{country.calling_code}{rng.choice(country.mobile_prefixes)}{rng.randrange(10 ** n):0{n}d}"

    def _b64(self, n: int, *, pad: bool = True) -> str:
        text = base64.b64encode(self.rng.randbytes(n)).decode("ascii")
        return text if pad else text.rstrip("=")

    def _password_hash(self) -> str:
        return f"$argon2id$v=19$m=19456,t=2,p=1${self._b64(16, pad=False)}${self._b64(32, pad=False)}"

    def _ciphertext(self, plaintext_bytes: int) -> str:
        # AES-256-GCM as the backend stores it: base64(12-byte nonce || ciphertext || 16-byte tag).
        return self._b64(12 + plaintext_bytes + 16)

    def _settings(self, user_id: int, country: _Country, phone: str | None, created: int,
                  out: list[tuple[object, ...]]) -> None:
        rng = self.rng
        self.settings_id += 1
        quiet = rng.random() < 0.3
        locale = country.locale if phone is not None and rng.random() < 0.9 else "en-US"
        out.append((self.settings_id, user_id, rng.choice(country.timezones), rng.random() < 0.85,
                    phone is not None and rng.random() < 0.4, rng.randint(21, 23) if quiet else None,
                    rng.randint(6, 8) if quiet else None, created + int((NOW - created) * rng.random()), locale))

    def _oauth(self, user_id: int, provider: _Provider, created: int, out: list[tuple[object, ...]]) -> None:
        rng = self.rng
        self.oauth_id += 1
        connected = created + int((NOW - created) * rng.random())
        refreshed = max(connected, NOW - rng.randrange(14 * DAY))
        low, high = provider.token_bytes
        refresh = self._ciphertext(rng.randint(40, 100)) if rng.random() < 0.92 else None
        out.append((self.oauth_id, user_id, provider.name, self._account_id(provider.name),
                    self._ciphertext(rng.randint(low, high)), refresh, provider.scopes,
                    refreshed + provider.lifetime, connected))

    def _account_id(self, provider: str) -> str:
        rng = self.rng
        if provider == "google":
            return f"1{rng.randrange(10 ** 20):020d}"
        if provider == "microsoft":
            h = rng.randbytes(16).hex()
            return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        if provider == "slack":
            return "U" + "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=10))
        return str(rng.randrange(100_000, 200_000_000))

    def _messages(self, user_id: int, phone: str | None, created: int, out: list[tuple[object, ...]]) -> None:
        rng = self.rng
        count = min(int(rng.expovariate(0.25)), 40)
        for sent_at in sorted(created + int((NOW - created) * rng.random()) for _ in range(count)):
            self.message_id += 1
            if rng.random() < 0.7:
                channel = rng.choice(("sms", "sms", "email", "push")) if phone else rng.choice(("email", "push"))
                status = "queued" if NOW - sent_at < 120 else rng.choice(_OUTBOUND_STATUS)
                out.append((self.message_id, user_id, "outbound", channel, self._text(_OUTBOUND), status, sent_at))
            else:
                channel = "sms" if phone and rng.random() < 0.8 else "email"
                out.append((self.message_id, user_id, "inbound", channel, self._text(_INBOUND), "received",
                            sent_at))

    def _text(self, templates: tuple[str, ...]) -> str:
        rng = self.rng
        first = rng.choice(rng.choice(_COUNTRIES).first_names)
        event = rng.choice(_EVENTS).format(first=first)
        text = rng.choice(templates).format(
            code=f"{rng.randrange(10 ** 6):06d}", event=event, hh=f"{rng.randint(7, 19):02d}",
            mm=rng.choice(("00", "15", "30", "45")), n=rng.randint(2, 30), m=rng.randint(1, 12),
            first=first, h=rng.randint(1, 6))
        return text[:80]


__all__ = [
    "DEFAULT_SEED", "DEFAULT_USERS", "EXERCISE", "TABLE_COLUMNS", "Exercise", "SampleWorkbook",
    "copy_sample_project", "fake_rows", "generate_database", "generate_postgres_database", "sample_source",
    "sample_workbook",
]
