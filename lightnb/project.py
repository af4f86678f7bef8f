"""Find and read a Diesel project: diesel.toml, the migrations folder, DATABASE_URL.

Resolution order follows diesel_cli (diesel_spec.md §0 and §5.3):

* config file: ``--config-file`` > ``DIESEL_CONFIG_FILE`` > ``<project root>/diesel.toml``;
* migrations folder: ``--migration-dir`` > ``MIGRATION_DIRECTORY`` > ``[migrations_directory] dir``
  > the nearest ``migrations/`` folder upward;
* database URL: argument > ``DATABASE_URL`` (a ``.env`` file upward may supply it, never overriding
  the real environment).

lightnb's own settings live in ``lightnb.toml`` beside diesel.toml, never in diesel.toml, whose keys
diesel_cli checks strictly. When the diesel.toml in use (``--config-file``, ``DIESEL_CONFIG_FILE``) has
no lightnb.toml beside it, the project folder's lightnb.toml is read: the settings (and the production
they declare) follow the project wherever its diesel configuration is read from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from lightnb.errors import ProjectError, with_advice
from lightnb.files import kind_of
from lightnb.records import field, record, replace
from lightnb.settings import SETTINGS_NAME, Settings, settings_folder

CONFIG_NAME = "diesel.toml"

# Keys diesel_cli 2.3.12 accepts in one print_schema configuration (diesel_cli src/config.rs
# `PrintSchema`, deny_unknown_fields; diesel_spec.md §5.2). Keys of unreleased diesel versions
# (include_views, custom_enum_derives, …) are refused, as 2.3.12 refuses them.
PRINT_SCHEMA_KEYS = frozenset({
    "file", "with_docs", "filter", "column_sorting", "allow_tables_to_appear_in_same_query_config",
    "import_types", "patch_file", "sqlite_integer_primary_key_is_bigint", "schema",
    "custom_type_derives", "generate_missing_sql_type_definitions", "except_custom_type_definitions",
    "pg_domains_as_custom_types",
})
TOP_LEVEL_KEYS = frozenset({"print_schema", "migrations_directory"})


@record(frozen=True)
class Project:
    """A Diesel project as diesel_cli would see it from a directory.

    :param root: the project root (directory of diesel.toml, else of Cargo.toml, else the start dir).
    :param config_file: the diesel.toml in use, or None when there is none.
    :param config_dir: the directory relative config paths are resolved against.
    :param migrations_dir: the migrations folder (may not exist yet).
    :param print_schema: configuration key -> raw ``[print_schema]`` table (``default`` first-level).
    :param database_url: the resolved database URL, or None.
    :param settings: lightnb's own settings, read once from the ``lightnb.toml`` that applies.
    """

    root: Path
    config_file: Path | None
    config_dir: Path
    migrations_dir: Path
    print_schema: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    database_url: str | None = None
    settings: Settings = field(default_factory=lambda: Settings(Path(".")))
    migrations_origin: str = "search"  # argument | environment | config | search | default (none found)

    @classmethod
    def discover(cls, start: str | Path = ".", *, database_url: str | None = None,
                 migration_dir: str | Path | None = None,
                 config_file: str | Path | None = None,
                 environ: Mapping[str, str] | None = None) -> Project:
        """Find the project that contains ``start``, the way diesel_cli does.

        :raises ProjectError: for an unreadable or invalid diesel.toml, or no migrations folder.
        """
        env = _environment(Path(start), environ)
        start = Path(start).resolve()
        if not start.exists():
            raise ProjectError(f"Project folder {start} does not exist; pass an existing folder.")
        if start.is_file():
            start = start.parent
        root = _project_root(start)
        cfg = _config_path(root, config_file, env)
        raw = _read_config(cfg) if cfg is not None else {}
        config_dir = cfg.parent if cfg is not None else root
        migrations, origin = _migrations_dir(start, config_dir, raw, migration_dir, env)
        url = database_url if database_url else env.get("DATABASE_URL") or None
        return cls(root=root, config_file=cfg, config_dir=config_dir, migrations_dir=migrations,
                   print_schema=_print_schema_sections(raw, cfg), database_url=url,
                   settings=Settings.read(settings_folder(config_dir, root)), migrations_origin=origin)

    def database_path(self) -> Path:
        """Return the SQLite file named by the database URL.

        :raises ProjectError: when no URL is set.
        """
        if not self.database_url:
            raise ProjectError(with_advice(
                "The --database-url argument must be passed, or the DATABASE_URL environment variable must "
                "be set.", "DATABASE_URL may also come from a .env file; `lightnb snapshot` makes a workspace "
                           "copy that verbs use by default"))
        return database_path_from_url(self.database_url, base=Path.cwd())

    def database_location(self) -> SqliteLocation:
        """Return where the database URL points, parameters kept (see :class:`SqliteLocation`).

        :raises ProjectError: when no URL is set.
        """
        if not self.database_url:
            self.database_path()  # raises the "no database" error
        return sqlite_location(str(self.database_url), base=Path.cwd())

    def resolve(self, path: str | Path) -> Path:
        """Resolve a path from diesel.toml against the config file's directory."""
        p = Path(path)
        return p if p.is_absolute() else self.config_dir / p

    @property
    def settings_dir(self) -> Path:
        """The folder of the lightnb.toml that applies (relative settings paths start there)."""
        return self.settings.folder

    def resolve_setting(self, path: str | Path) -> Path:
        """Resolve a path from lightnb.toml against the folder of that lightnb.toml."""
        return self.settings.resolve(path)

    def with_database(self, database_url: str | Path) -> Project:
        """Return a copy of this project pointing at another database."""
        return replace(self, database_url=str(database_url))


def database_path_from_url(url: str, *, base: Path | None = None) -> Path:
    """Turn a SQLite database URL (bare path, ``sqlite://``, ``file:``) into the database file's path.

    :raises ProjectError: for an in-memory database and for non-SQLite URLs.
    """
    location = sqlite_location(url, base=base)
    if location.path is None:
        raise ProjectError("An in-memory database cannot be rehearsed on; give the path of a SQLite file.")
    return location.path


@record(frozen=True)
class SqliteLocation:
    """What a database URL names, read the way diesel's SQLite connection opens it.

    diesel passes the URL to ``sqlite3_open_v2`` with ``SQLITE_OPEN_URI`` (a ``sqlite://`` prefix
    becomes ``file:``), so a ``file:`` URI is percent-decoded and keeps its parameters
    (``file:app.db?mode=ro`` opens read-only), ``:memory:`` is a private in-memory database, and
    any other text is a plain path, taken literally.

    :param url: the URL as given.
    :param path: the database file (absolute when a base was given), or None in memory.
    :param parameters: the URI's query string, kept verbatim (``mode=ro&cache=shared``).
    :param uri: True when SQLite reads the URL as a URI (it starts with ``file:`` or ``sqlite://``).
    """

    url: str
    path: Path | None
    parameters: str = ""
    uri: bool = False

    @property
    def memory(self) -> bool:
        """Return True for an in-memory (or temporary) database, which lives only in its connection."""
        return self.path is None

    @property
    def read_only(self) -> bool:
        """Return True when the URI asks for a read-only connection (``mode=ro``, ``immutable=1``)."""
        params = uri_parameters(self.parameters)
        return params.get("mode") == "ro" or params.get("immutable", "0") not in ("0", "false", "no", "off")

    def open_target(self) -> tuple[str, bool]:
        """Return what to hand to ``sqlite3.connect``: (filename or URI, whether it is a URI)."""
        if self.path is None:
            text = self.url.replace("sqlite://", "file:", 1) if self.url.startswith("sqlite://") else self.url
            return text, self.uri
        if not self.parameters:
            return str(self.path), False
        return f"file:{quote(str(self.path))}?{self.parameters}", True


def sqlite_location(url: str, *, base: Path | None = None) -> SqliteLocation:
    """Read a database URL as diesel's SQLite backend does (see :class:`SqliteLocation`).

    :param base: folder relative paths are resolved against (diesel: the current folder).
    :raises ProjectError: for PostgreSQL/MySQL URLs and for a ``file:`` URI with a foreign host.
    """
    text = url.strip()
    if text.startswith(("postgres://", "postgresql://", "mysql://", "mariadb://")):
        scheme = text.split("://", 1)[0]
        if scheme in ("mysql", "mariadb"):
            raise ProjectError(f"Database URL scheme `{scheme}://` is not supported; use postgres://USER@HOST/DATABASE "
                               f"for PostgreSQL or the path of a SQLite file.")
        raise ProjectError(f"Database URL `{scheme}://…` is not SQLite, and this step works on SQLite files only: "
                           f"give the path of a SQLite file (e.g. DATABASE_URL=app.db).")
    if text.startswith("sqlite://"):
        text = "file:" + text[len("sqlite://"):]
        uri = True
    else:
        uri = text.startswith("file:")
    if not uri:
        if text in ("", ":memory:"):
            return SqliteLocation(url, None)
        return SqliteLocation(url, _absolute(Path(text), base))
    rest = text[len("file:"):]
    if rest.startswith("//"):
        end = rest.find("/", 2)
        authority = rest[2:] if end < 0 else rest[2:end]
        authority = authority.split("?", 1)[0].split("#", 1)[0]
        if authority not in ("", "localhost"):
            raise ProjectError(f"Could not connect to database via `{url}`: invalid uri authority: {authority} "
                               f"(lightnb: write file:///path or file:relative/path).")
        rest = rest[2 + len(authority):]
    rest = rest.split("#", 1)[0]
    raw_path, _, parameters = rest.partition("?")
    path = _percent_decode(raw_path)
    if path in ("", ":memory:") or uri_parameters(parameters).get("mode") == "memory":
        return SqliteLocation(url, None, parameters, True)
    return SqliteLocation(url, _absolute(Path(path), base), parameters, True)


def uri_parameters(query: str) -> dict[str, str]:
    """Return the parameters of a SQLite URI query string, percent-decoded (the first of a name wins)."""
    found: dict[str, str] = {}
    for pair in query.split("&") if query else ():
        key, _, value = pair.partition("=")
        found.setdefault(_percent_decode(key), _percent_decode(value))
    return found


def _percent_decode(text: str) -> str:
    """Decode ``%HH`` escapes as SQLite does for URIs (a ``%`` not followed by two hex digits stays)."""
    data = bytearray()
    raw = text.encode("utf-8", "surrogateescape")
    i = 0
    while i < len(raw):
        if raw[i] == 0x25 and _is_hex(raw[i + 1:i + 3]):
            data.append(int(raw[i + 1:i + 3], 16))
            i += 3
        else:
            data.append(raw[i])
            i += 1
    return bytes(data).decode("utf-8", "surrogateescape")


def _is_hex(pair: bytes) -> bool:
    return len(pair) == 2 and all(chr(b) in "0123456789abcdefABCDEF" for b in pair)


def _absolute(path: Path, base: Path | None) -> Path:
    return path if path.is_absolute() or base is None else base / path


def _environment(start: Path, environ: Mapping[str, str] | None) -> dict[str, str]:
    """Return the environment with a ``.env`` file found upward merged under it."""
    env = dict(os.environ if environ is None else environ)
    here = start.resolve()
    for folder in (here, *here.parents):
        candidate = folder / ".env"
        if candidate.is_file():
            env.update(_read_dotenv(candidate, env))
            break
    return env


def _read_dotenv(path: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """Read a ``.env`` file as diesel does (dotenvy): the variables it adds to ``environ``.

    :raises ProjectError: naming the file and the line that does not parse, as diesel refuses it.
    """
    from lightnb.envfile import EnvFileError, read_env
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProjectError(f"Initializing `.env` file failed: cannot read {path} ({error}); fix or remove it.",
                           path=path) from error
    try:
        return read_env(text, environ)
    except EnvFileError as error:
        first = error.entry.strip().split("\n")[0]
        raise ProjectError(f"Initializing `.env` file failed: {path} line {error.line} is not NAME=value "
                           f"({first[:40]!r}); fix or remove that line.", path=path, line=error.line) from error


def _project_root(start: Path) -> Path:
    for marker in (CONFIG_NAME, "Cargo.toml"):
        for folder in (start, *start.parents):
            if (folder / marker).is_file():
                return folder
    return start


def config_file_path(start: str | Path = ".", given: str | Path | None = None,
                     environ: Mapping[str, str] | None = None) -> Path:
    """Return where diesel reads (and ``setup`` writes) diesel.toml, whether or not it exists.

    ``--config-file`` > ``DIESEL_CONFIG_FILE`` > ``<project root>/diesel.toml`` (diesel_cli
    config.rs ``Config::file_path``).
    """
    if given is not None:
        return Path(given).resolve()
    env = _environment(Path(start), environ)
    if env.get("DIESEL_CONFIG_FILE"):
        return Path(env["DIESEL_CONFIG_FILE"]).resolve()
    return _project_root(Path(start).resolve()) / CONFIG_NAME


def find_project_root(start: str | Path = ".") -> Path | None:
    """Return the nearest folder upward holding diesel.toml, else Cargo.toml; None when neither exists."""
    here = Path(start).resolve()
    root = _project_root(here)
    return root if (root / CONFIG_NAME).is_file() or (root / "Cargo.toml").is_file() else None


def _config_path(root: Path, given: str | Path | None, env: Mapping[str, str]) -> Path | None:
    """Return the diesel.toml to read, or None: a file that does not exist means all defaults, as in
    diesel (``Config::read``), even when ``--config-file`` names it."""
    if given is not None:
        path, advice = Path(given).resolve(), "the config file must be a file; fix --config-file"
    elif env.get("DIESEL_CONFIG_FILE"):
        path = Path(env["DIESEL_CONFIG_FILE"]).resolve()
        advice = "the config file must be a file; fix DIESEL_CONFIG_FILE"
    else:
        path = root / CONFIG_NAME
        advice = f"{CONFIG_NAME} must be a file; rename or remove the folder of that name"
    if path.is_dir():
        raise ProjectError(with_advice(f"Encountered an IO error: Is a directory (os error 21) for `{path}`",
                                       advice), path=path)
    if path.exists() and not path.is_file():  # a FIFO would block diesel's read: refused before any open
        raise ProjectError(f"The config file {path} is {kind_of(path.stat().st_mode)}, not a regular file; "
                           f"point --config-file or DIESEL_CONFIG_FILE at a file, or remove it.", path=path)
    return path if path.is_file() else None


def _read_config(path: Path) -> dict[str, Any]:
    import tomllib  # here: a project without a config file reads no TOML

    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ProjectError(with_advice(f"Encountered an IO error: {error} for `{path}`", "check the file"),
                           path=path) from error
    except tomllib.TOMLDecodeError as error:
        raise ProjectError(with_advice(f"Failed to parse config file: {error}", f"in {path}; fix the TOML syntax"),
                           path=path) from error
    unknown = sorted(set(raw) - TOP_LEVEL_KEYS)
    if unknown:
        raise ProjectError(with_advice(
            f"Failed to parse config file: unknown field `{unknown[0]}`, expected `print_schema` or "
            f"`migrations_directory`", f"in {path}; move lightnb's own settings to {SETTINGS_NAME}"), path=path)
    extra = sorted(set(raw.get("migrations_directory") or {}) - {"dir"}) \
        if isinstance(raw.get("migrations_directory"), dict) else []
    if extra:
        raise ProjectError(with_advice(f"Failed to parse config file: unknown field `{extra[0]}`, expected `dir`",
                                       f"in [migrations_directory] of {path}; remove it"), path=path)
    return raw


def _print_schema_sections(raw: Mapping[str, Any], cfg: Path | None) -> dict[str, dict[str, Any]]:
    """Split ``[print_schema]`` into named configurations (diesel_spec.md §5.1)."""
    section = raw.get("print_schema")
    if section is None:
        return {"default": {}} if cfg is None else {}
    if not isinstance(section, dict):
        raise ProjectError(f"Failed to parse config file {cfg}: [print_schema] must be a table.")
    top = {k: v for k, v in section.items() if not (isinstance(v, dict) and k not in PRINT_SCHEMA_KEYS)}
    subs = {k: v for k, v in section.items() if isinstance(v, dict) and k not in PRINT_SCHEMA_KEYS}
    sections: dict[str, dict[str, Any]] = {"default": top}
    sections.update(subs)
    for key, options in sections.items():
        unknown = sorted(set(options) - PRINT_SCHEMA_KEYS)
        if unknown:
            where = "[print_schema]" if key == "default" else f"[print_schema.{key}]"
            raise ProjectError(with_advice(
                f"Failed to parse config file: unknown field `{unknown[0]}`",
                f"in {where} of {cfg}; remove it or fix its spelling (diesel_cli 2.3.12 accepts "
                f"{', '.join(sorted(PRINT_SCHEMA_KEYS))})"), path=cfg)
    return dict(sorted(sections.items()))


def _migrations_dir(start: Path, config_dir: Path, raw: Mapping[str, Any],
                    given: str | Path | None, env: Mapping[str, str]) -> tuple[Path, str]:
    """Return the migrations folder and where it came from (diesel_cli migrations/mod.rs ``migrations_dir``)."""
    if given is not None:
        return Path(given).resolve(), "argument"
    if env.get("MIGRATION_DIRECTORY"):
        return Path(env["MIGRATION_DIRECTORY"]).resolve(), "environment"
    section = raw.get("migrations_directory")
    if section is not None:
        if not isinstance(section, dict) or not isinstance(section.get("dir"), str):
            raise ProjectError('Failed to parse config file: [migrations_directory] needs `dir = "migrations"`; '
                               'add it, or remove the section.')
        path = Path(section["dir"])
        return (path if path.is_absolute() else (config_dir / path)), "config"
    for folder in (start, *start.parents):
        if (folder / "migrations").is_dir():
            return folder / "migrations", "search"
    return config_dir / "migrations", "default"
