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

import io
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lightnb.errors import ProjectError

CONFIG_NAME = "diesel.toml"
SETTINGS_NAME = "lightnb.toml"

# Keys diesel_cli accepts in one print_schema configuration (diesel_spec.md §5.2).
PRINT_SCHEMA_KEYS = frozenset({
    "file", "with_docs", "filter", "column_sorting", "allow_tables_to_appear_in_same_query_config",
    "import_types", "patch_file", "sqlite_integer_primary_key_is_bigint", "schema",
    "custom_type_derives", "generate_missing_sql_type_definitions", "except_custom_type_definitions",
    "pg_domains_as_custom_types", "include_views", "experimental_infer_nullable_for_views",
    "custom_enum_derives", "generate_rust_enum_definitions",
})
TOP_LEVEL_KEYS = frozenset({"print_schema", "migrations_directory"})


@dataclass(frozen=True)
class Project:
    """A Diesel project as diesel_cli would see it from a directory.

    :param root: the project root (directory of diesel.toml, else of Cargo.toml, else the start dir).
    :param config_file: the diesel.toml in use, or None when there is none.
    :param config_dir: the directory relative config paths are resolved against.
    :param migrations_dir: the migrations folder (may not exist yet).
    :param print_schema: configuration key -> raw ``[print_schema]`` table (``default`` first-level).
    :param database_url: the resolved database URL, or None.
    :param settings: lightnb's own settings from ``lightnb.toml``.
    :param settings_dir: the folder of the lightnb.toml read (relative settings paths start there);
        None means ``config_dir``.
    """

    root: Path
    config_file: Path | None
    config_dir: Path
    migrations_dir: Path
    print_schema: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    database_url: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    settings_dir: Path | None = None

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
        migrations = _migrations_dir(start, config_dir, raw, migration_dir, env)
        url = database_url if database_url else env.get("DATABASE_URL") or None
        settings_dir = settings_folder(config_dir, root)
        return cls(root=root, config_file=cfg, config_dir=config_dir, migrations_dir=migrations,
                   print_schema=_print_schema_sections(raw, cfg), database_url=url,
                   settings=read_settings(settings_dir), settings_dir=settings_dir)

    def database_path(self) -> Path:
        """Return the SQLite file named by the database URL.

        :raises ProjectError: when no URL is set.
        """
        if not self.database_url:
            raise ProjectError(
                "No database given: pass --database-url PATH, or set DATABASE_URL "
                "(in the environment or in a .env file).")
        return database_path_from_url(self.database_url, base=Path.cwd())

    def resolve(self, path: str | Path) -> Path:
        """Resolve a path from diesel.toml against the config file's directory."""
        p = Path(path)
        return p if p.is_absolute() else self.config_dir / p

    def resolve_setting(self, path: str | Path) -> Path:
        """Resolve a path from lightnb.toml against the folder of that lightnb.toml."""
        p = Path(path)
        return p if p.is_absolute() else (self.settings_dir or self.config_dir) / p

    def with_database(self, database_url: str | Path) -> Project:
        """Return a copy of this project pointing at another database."""
        return replace(self, database_url=str(database_url))


def database_path_from_url(url: str, *, base: Path | None = None) -> Path:
    """Turn a SQLite database URL (bare path, ``sqlite://``, ``file:``) into a path.

    :raises ProjectError: for ``:memory:`` and for non-SQLite URLs.
    """
    text = url.strip()
    if text.startswith(("postgres://", "postgresql://", "mysql://", "mariadb://")):
        raise ProjectError(f"Database URL {text!r} is not SQLite; lightnb works with SQLite files only: give the "
                           f"path of a SQLite file (e.g. DATABASE_URL=app.db).")
    if text.startswith("sqlite://"):
        text = text[len("sqlite://"):]
    elif text.startswith("file:"):
        text = text[len("file:"):]
        if text.startswith("//"):
            text = text[2:]
        text = text.split("?", 1)[0]
    if text in ("", ":memory:"):
        raise ProjectError("An in-memory database cannot be rehearsed on; give the path of a SQLite file.")
    path = Path(text)
    if not path.is_absolute() and base is not None:
        path = base / path
    return path


def _environment(start: Path, environ: Mapping[str, str] | None) -> dict[str, str]:
    """Return the environment with a ``.env`` file found upward merged under it."""
    env = dict(os.environ if environ is None else environ)
    here = start.resolve()
    for folder in (here, *here.parents):
        candidate = folder / ".env"
        if candidate.is_file():
            for key, value in _read_dotenv(candidate).items():
                env.setdefault(key, value)
            break
    return env


def _read_dotenv(path: Path) -> dict[str, str]:
    """Read a ``.env`` file; a line that does not parse is an error, as in diesel (dotenvy).

    :raises ProjectError: naming the file and the line.
    """
    from dotenv.parser import parse_stream
    from dotenv.variables import parse_variables
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProjectError(f"Initializing `.env` file failed: cannot read {path} ({error}); fix or remove it.",
                           path=path) from error
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            line = binding.original.line
            raise ProjectError(f"Initializing `.env` file failed: {path} line {line} is not KEY=value "
                               f"({binding.original.string.strip()[:40]!r}); fix or remove that line.",
                               path=path, line=line)
        if binding.key is not None and binding.value is not None:
            # ${VAR} references expand from what is known so far, like dotenv_values(interpolate=True)
            values[binding.key] = "".join(atom.resolve({**os.environ, **values})
                                          for atom in parse_variables(binding.value))
    return values


def _project_root(start: Path) -> Path:
    for marker in (CONFIG_NAME, "Cargo.toml"):
        for folder in (start, *start.parents):
            if (folder / marker).is_file():
                return folder
    return start


def _config_path(root: Path, given: str | Path | None, env: Mapping[str, str]) -> Path | None:
    if given is not None:
        path = Path(given).resolve()
        if not path.is_file():
            raise ProjectError(f"Config file {path} does not exist; fix --config-file or create it.")
        return path
    if env.get("DIESEL_CONFIG_FILE"):
        path = Path(env["DIESEL_CONFIG_FILE"]).resolve()
        return path if path.is_file() else None
    path = root / CONFIG_NAME
    return path if path.is_file() else None


def _read_config(path: Path) -> dict[str, Any]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ProjectError(f"Cannot read config file {path}: {error}; check the file.") from error
    except tomllib.TOMLDecodeError as error:
        raise ProjectError(f"Failed to parse config file {path}: {error}; fix the TOML syntax.") from error
    unknown = sorted(set(raw) - TOP_LEVEL_KEYS)
    if unknown:
        raise ProjectError(
            f"Failed to parse config file {path}: unknown key `{unknown[0]}` (diesel.toml accepts only "
            f"[print_schema] and [migrations_directory]); move lightnb settings to {SETTINGS_NAME}.")
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
            raise ProjectError(f"Failed to parse config file {cfg}: unknown option `{unknown[0]}` in "
                               f"{where}; remove it or check its spelling.")
    return dict(sorted(sections.items()))


def _migrations_dir(start: Path, config_dir: Path, raw: Mapping[str, Any],
                    given: str | Path | None, env: Mapping[str, str]) -> Path:
    if given is not None:
        return Path(given).resolve()
    if env.get("MIGRATION_DIRECTORY"):
        return Path(env["MIGRATION_DIRECTORY"]).resolve()
    section = raw.get("migrations_directory")
    if section is not None:
        if not isinstance(section, dict) or not isinstance(section.get("dir"), str):
            raise ProjectError('Failed to parse config file: [migrations_directory] needs `dir = "migrations"`; '
                               'add it, or remove the section.')
        path = Path(section["dir"])
        return path if path.is_absolute() else (config_dir / path)
    for folder in (start, *start.parents):
        if (folder / "migrations").is_dir():
            return folder / "migrations"
    return config_dir / "migrations"


def settings_folder(config_dir: Path, root: Path) -> Path:
    """Return the folder whose lightnb.toml applies: beside diesel.toml, else the project folder's."""
    for folder in (config_dir, root):
        if (folder / SETTINGS_NAME).is_file():
            return folder
    return config_dir


def read_settings(folder: Path) -> dict[str, Any]:
    """Read ``folder/lightnb.toml`` (empty when there is none).

    :raises ProjectError: when the file cannot be read or is not TOML.
    """
    path = folder / SETTINGS_NAME
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ProjectError(f"Cannot read {path}: {error}; fix or remove the file.") from error
