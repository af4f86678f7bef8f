"""lightnb's own settings: ``lightnb.toml``, read once into a typed :class:`Settings`.

``lightnb.toml`` lives beside diesel.toml, never inside it (diesel_cli refuses keys it does not
know)::

    production = "../data/production.db"   # the production database: only ever read
    models_dir = "src/models"               # where the model structs live

    [schema]
    style = "2.3"                           # diesel output style of regenerated schema files

    [test]
    command = "cargo test"                  # the project's test command ($DATABASE_URL = the copy)
    cwd = "."                               # relative to diesel.toml's folder
    timeout = 600                           # seconds

    sql_timeout = 600                       # seconds SQL lightnb runs by itself on a copy may run (0: none)

    [lint]                                  # see lightnb.lint.config
    [redact]                                # see lightnb.inspect.redact

:class:`Settings` is also a read-only mapping of the file as written, so a section whose meaning
belongs to one part of lightnb (``[lint]``'s rule ids, ``[redact]``'s patterns) is validated by that
part. Each typed property checks its own key when it is used, and a wrong value is one line that
names the key and shows a right one, as before any part of lightnb acts on it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lightnb.errors import ProjectError
from lightnb.files import kind_of
from lightnb.records import field, record

SETTINGS_NAME = "lightnb.toml"
DEFAULT_TEST_COMMAND = "cargo test"
DEFAULT_TEST_TIMEOUT = 900.0


@record(frozen=True, slots=True)
class TestSettings:
    """The project's test command (``[test]``).

    :param argv: the command, split as a shell would (``cargo test`` by default).
    :param cwd: the folder to run it in, as written (relative to diesel.toml's folder).
    :param timeout: seconds before it is stopped.
    """

    __test__ = False  # not a pytest test class

    argv: tuple[str, ...]
    cwd: str = "."
    timeout: float = DEFAULT_TEST_TIMEOUT


@record(frozen=True, eq=False)  # equal as mappings: to another Settings or a dict of the same TOML
class Settings(Mapping[str, Any]):
    """The settings of one ``lightnb.toml`` (empty when the folder has none).

    :param folder: the folder of the lightnb.toml (relative settings paths start there).
    :param path: the file read, or None when there is none.
    :param values: the file's TOML as read.
    """

    folder: Path
    path: Path | None = None
    # The field keeps its public name though it hides Mapping.values(): read settings through [] / get() / items().
    values: Mapping[str, Any] = field(default_factory=dict)  # type: ignore[assignment]

    @classmethod
    def read(cls, folder: str | Path) -> Settings:
        """Read ``folder/lightnb.toml`` (empty settings when there is none).

        :raises ProjectError: when the file cannot be read or is not TOML.
        """
        here = Path(folder)
        path = here / SETTINGS_NAME
        _refuse_non_file_settings(path)
        if not path.is_file():
            return cls(here)
        import tomllib  # here: a project without the file reads no TOML

        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ProjectError(f"Cannot read {path}: {error}; fix or remove the file.") from error
        return cls(here, path, values)

    # -- the file as a mapping ------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def resolve(self, path: str | Path) -> Path:
        """Resolve a path written in lightnb.toml against the file's folder."""
        p = Path(path)
        return p if p.is_absolute() else self.folder / p

    # -- typed keys ------------------------------------------------------------------------------

    @property
    def production(self) -> Path | None:
        """The production database ``production = "…"`` declares (resolved), or None."""
        configured = self.values.get("production")
        if not isinstance(configured, str) or not configured:
            return None
        return self.resolve(configured)

    @property
    def models_dir(self) -> str | None:
        """``models_dir`` as written, or None.

        :raises ProjectError: when it is not a text path.
        """
        configured = self.values.get("models_dir")
        if configured is not None and not isinstance(configured, str):
            raise ProjectError(f"`models_dir = {configured!r}` in {SETTINGS_NAME} is not a path; write it as a "
                               f"quoted folder, e.g. models_dir = \"src/models\"", path=self._file())
        return configured

    @property
    def schema_style(self) -> str | None:
        """``[schema] style`` (diesel's output style of regenerated schema files), or None."""
        section = self.values.get("schema") or {}
        style = section.get("style") if isinstance(section, Mapping) else None
        return style or None

    @property
    def sql_timeout(self) -> float | None:
        """``sql_timeout``: seconds migration SQL lightnb runs by itself on a copy may run (:mod:`lightnb.time_limit`;
        ``0``: no limit), or None when not set.

        :raises ProjectError: when it is not a number of seconds.
        """
        configured = self.values.get("sql_timeout")
        if configured is None:
            return None
        if isinstance(configured, bool) or not isinstance(configured, (int, float)) or not 0 <= configured < 1e12:
            raise ProjectError(f"`sql_timeout = {configured!r}` in {SETTINGS_NAME} is not a number of seconds; write "
                               f"e.g. sql_timeout = 1800 (0: no limit)", path=self._file())
        return float(configured)

    @property
    def test(self) -> TestSettings:
        """The project's test command (``[test]``; ``cargo test`` when not set).

        :raises ProjectError: when a key has the wrong type.
        """
        import shlex  # only the verbs that run the project's tests read this
        table = dict(self.values.get("test", {}) or {})
        command = table.get("command", DEFAULT_TEST_COMMAND)
        try:
            argv = shlex.split(command) if isinstance(command, str) else list(command)
        except (TypeError, ValueError) as error:  # not a string or a list, or an unclosed quote
            raise ProjectError(f'{SETTINGS_NAME}: [test] command cannot be read ({error}); write a string such as '
                               f'command = "cargo test", or a list of arguments.') from error
        if not argv or not all(isinstance(a, str) for a in argv):
            raise ProjectError(f'{SETTINGS_NAME}: [test] command must be a string, e.g. command = "cargo test".')
        timeout = table.get("timeout", DEFAULT_TEST_TIMEOUT)
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ProjectError(f"{SETTINGS_NAME}: [test] timeout must be a positive number of seconds.")
        return TestSettings(tuple(argv), str(table.get("cwd", ".")), float(timeout))

    def _file(self) -> Path:
        return self.path if self.path is not None else self.folder / SETTINGS_NAME


def settings_folder(config_dir: Path, root: Path) -> Path:
    """Return the folder whose lightnb.toml applies: beside diesel.toml, else the project folder's."""
    for folder in (config_dir, root):
        _refuse_non_file_settings(folder / SETTINGS_NAME)
        if (folder / SETTINGS_NAME).is_file():
            return folder
    return config_dir


def _refuse_non_file_settings(path: Path) -> None:
    """A lightnb.toml that is a folder (or a FIFO, a device) is an error, never silently no settings."""
    if path.exists() and not path.is_file():
        raise ProjectError(f"{path} is {kind_of(path.stat().st_mode)}, not a file; lightnb reads its settings "
                           f"from a file of that name: rename or remove it.", path=path)


__all__ = ["DEFAULT_TEST_COMMAND", "DEFAULT_TEST_TIMEOUT", "SETTINGS_NAME", "Settings", "TestSettings",
           "settings_folder"]
