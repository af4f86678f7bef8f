"""``@record`` behaves as ``@dataclass`` for what lightnb's types use of it: the same constructor, repr, equality,
hash, frozenness and slots; ``replace``/``fields`` work on both; and the public types made with it read as before."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest

from lightnb import records
from lightnb.records import FrozenInstanceError, field, record


def _pair(frozen: bool = False, eq: bool = True, slots: bool = False) -> tuple[type, type]:
    """The same class body made by ``@dataclass`` and by ``@record``."""
    made = []
    for decorate in (dataclasses.dataclass, record):
        ns: dict[str, object] = {}
        exec(  # a class body written here
            "class Thing:\n"
            "    name: str\n"
            "    count: int = 0\n"
            "    tags: list = FIELD(default_factory=list)\n"
            "    note: str = FIELD(default='', repr=False, compare=False)\n"
            "    def total(self):\n"
            "        return self.count + len(self.tags)\n",
            {"FIELD": dataclasses.field if decorate is dataclasses.dataclass else field}, ns)
        made.append(decorate(frozen=frozen, eq=eq, slots=slots)(ns["Thing"]))  # type: ignore[operator]
    return made[0], made[1]


@pytest.mark.parametrize("frozen", [False, True])
@pytest.mark.parametrize("eq", [False, True])
@pytest.mark.parametrize("slots", [False, True])
def test_a_record_reads_compares_and_hashes_as_a_dataclass(frozen: bool, eq: bool, slots: bool) -> None:
    twin, ours = _pair(frozen, eq, slots)
    for args, kwargs in (((), {"name": "a"}), (("a", 2), {}), (("a", 2, ["x"]), {"note": "hidden"})):
        a, b = twin(*args, **kwargs), ours(*args, **kwargs)
        assert repr(a) == repr(b)
        assert a.total() == b.total()
        assert (a == twin(*args, **kwargs)) == (b == ours(*args, **kwargs))
        assert (a == twin("other")) == (b == ours("other"))
        assert a != b and b != a  # another class, as two dataclasses of the same fields are
        assert (twin.__hash__ is None) == (ours.__hash__ is None)
    if frozen and eq:
        assert hash(ours("a", 2, ("x",))) == hash(twin("a", 2, ("x",))) == hash(ours("a", 2, ("x",), "other"))
    if eq:
        assert ours("a", note="x") == ours("a", note="y")  # compare=False
    assert twin.__match_args__ == ours.__match_args__
    assert hasattr(ours("a"), "__dict__") is hasattr(twin("a"), "__dict__")
    with pytest.raises(TypeError):
        ours()  # a field without default is required, as a dataclass's
    with pytest.raises(TypeError):
        ours("a", nope=1)
    assert ours("a").tags is not ours("a").tags  # the factory runs for each one


def test_a_frozen_record_refuses_assignment_like_a_frozen_dataclass() -> None:
    _twin, ours = _pair(frozen=True)
    thing = ours("a")
    with pytest.raises(FrozenInstanceError):
        thing.name = "b"
    with pytest.raises(AttributeError):  # FrozenInstanceError is an AttributeError, as dataclasses' is
        del thing.count
    assert thing.name == "a"


def test_replace_and_fields_work_on_records_and_dataclasses() -> None:
    twin, ours = _pair(frozen=True)
    for cls in (twin, ours):
        thing = cls("a", 1, ["x"])
        changed = records.replace(thing, count=5)
        assert (changed.name, changed.count, changed.tags) == ("a", 5, ["x"]) and thing.count == 1
        assert [f.name for f in records.fields(thing)] == ["name", "count", "tags", "note"]
        with pytest.raises(TypeError):
            records.replace(thing, nope=1)
    assert records.is_record(ours("a")) and records.is_record(ours) and not records.is_record(twin("a"))


def test_record_rules_match_dataclasses() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        @record
        class Wrong:
            a: int = 0
            b: int

    @record
    class Base:
        a: int
        b: int = 2

    @record(frozen=True)
    class Kept:
        a: int
        seen: list[int] = field(default_factory=list)

        def __post_init__(self) -> None:
            self.seen.append(self.a)

    @record
    class Child(Base):
        c: int = 3

    assert repr(Child(1)) == "test_record_rules_match_dataclasses.<locals>.Child(a=1, b=2, c=3)"
    assert Kept(4).seen == [4]
    assert Base.b == 2  # the class keeps its defaults, as a dataclass does


def test_the_public_types_read_as_they_did() -> None:
    """Reprs and equality of the types a user handles most (their text is part of the API)."""
    from lightnb.listing import ListResult, MigrationStatus
    from lightnb.migrations import Migration
    from lightnb.project import Project, SqliteLocation
    from lightnb.settings import Settings
    from lightnb.target import Target

    status = MigrationStatus("2024-01-01-000000_a", "20240101000000", True, False)
    assert repr(status) == ("MigrationStatus(name='2024-01-01-000000_a', version='20240101000000', applied=True, "
                            "has_down=False)")
    listing = ListResult(Path("app.db"), (status,))
    assert repr(listing) == f"ListResult(database={Path('app.db')!r}, migrations=({status!r},), " \
                            f"applied_missing_on_disk=())"
    assert listing == ListResult(Path("app.db"), (status,)) and hash(listing) == hash(ListResult(Path("app.db"),
                                                                                                (status,)))
    project = Project(Path("/p"), None, Path("/p"), Path("/p/migrations"))
    assert project.with_database("x.db").database_url == "x.db" and project.database_url is None
    assert project == Project(Path("/p"), None, Path("/p"), Path("/p/migrations"))
    with pytest.raises(AttributeError):
        project.root = Path("/q")  # type: ignore[misc]
    assert repr(SqliteLocation("a.db", Path("/a.db"))) == \
        f"SqliteLocation(url='a.db', path={Path('/a.db')!r}, parameters='', uri=False)"
    assert Settings(Path("."), values={"a": 1}) == {"a": 1}  # equal as a mapping, as before
    assert repr(Target(Path("a.db"))) == f"Target(path={Path('a.db')!r}, workspace=None, location=None, url=None)"
    migration = Migration("2024-01-01-000000_a", "20240101000000", Path("/m/a"), Path("/m/a/up.sql"), None)
    assert pickle.loads(pickle.dumps(migration)) == migration


def test_a_listing_renders_as_json_with_its_fields() -> None:
    from lightnb.listing import ListResult, MigrationStatus
    from lightnb.render import json

    listing = ListResult(Path("app.db"), (MigrationStatus("a", "1", True, True),))
    assert json.plain(listing) == {"database": "app.db", "migrations": [
        {"name": "a", "version": "1", "applied": True, "has_down": True}], "applied_missing_on_disk": []}


@pytest.mark.parametrize("slots", [False, True])
def test_a_frozen_record_pickles(slots: bool) -> None:
    from lightnb.runner import StepEvent
    from lightnb.settings import TestSettings

    _twin, ours = _pair(frozen=True, slots=slots)
    globals()["Thing"] = ours  # pickle finds a class by its module and name
    try:
        ours.__module__, ours.__qualname__ = __name__, "Thing"
        assert pickle.loads(pickle.dumps(ours("a", 1, ["x"]))) == ours("a", 1, ["x"])
    finally:
        del globals()["Thing"]
    settings = TestSettings(("cargo", "test"))
    assert pickle.loads(pickle.dumps(settings)) == settings
    assert "kind" in StepEvent.__slots__ and "__dict__" not in StepEvent.__dict__


@pytest.mark.parametrize("frozen", [False, True])
@pytest.mark.parametrize("slots", [False, True])
def test_code_using_dataclasses_keeps_working_on_records(frozen: bool, slots: bool) -> None:
    twin, ours = _pair(frozen=frozen, slots=slots)
    a, b = twin("a", 2, ["x"], "n"), ours("a", 2, ["x"], "n")
    assert dataclasses.is_dataclass(b) and dataclasses.is_dataclass(ours)
    assert [(f.name, f.repr, f.compare) for f in dataclasses.fields(b)] == \
        [(f.name, f.repr, f.compare) for f in dataclasses.fields(a)]
    assert dataclasses.asdict(b) == dataclasses.asdict(a)
    assert dataclasses.astuple(b) == dataclasses.astuple(a)
    assert repr(dataclasses.replace(b, count=5)) == repr(dataclasses.replace(a, count=5))
    assert dataclasses.replace(b).tags == ["x"]
    assert [f.name for f in dataclasses.fields(ours)] == [f.name for f in records.fields(ours)]


def test_pandas_and_asdict_read_the_public_types() -> None:
    import pandas as pd

    from lightnb.listing import ListResult, MigrationStatus

    rows = [MigrationStatus("2024-01-01-000000_a", "20240101000000", True, False),
            MigrationStatus("2024-01-02-000000_b", "20240102000000", False, True)]
    frame = pd.DataFrame(rows)
    assert list(frame.columns) == ["name", "version", "applied", "has_down"]
    assert frame["applied"].tolist() == [True, False]
    assert dataclasses.asdict(ListResult(Path("app.db"), tuple(rows)))["migrations"][1]["has_down"] is True
