"""Plain data classes that cost a command nothing to define: ``@record`` instead of ``@dataclass``.

The types every command loads (the project, its settings, the migrations, the target database, the
workspace, a listing's result) are made by :func:`record`, which gives a class what ``@dataclass``
gives it — an ``__init__`` over its annotated fields in order (defaults, :func:`field` factories,
``__post_init__``), ``__repr__``, ``__eq__`` and ``__hash__`` as a dataclass has them, ``frozen`` and
``slots`` — without :mod:`dataclasses` itself: that module loads :mod:`inspect` (with ast, dis and
tokenize) and compiles six functions per class, about half of the start-up of ``lightnb migration
list``. A record compiles one function (its ``__init__``); the others are shared. Type checkers read
a record as a dataclass (PEP 681). :func:`replace` and :func:`fields` work on records and dataclasses
alike; :func:`is_record` tells one. Code that already uses :mod:`dataclasses` keeps working on records:
``dataclasses.is_dataclass``, ``fields``, ``asdict``, ``astuple`` and ``replace`` (and pandas, which builds a
frame's columns from dataclasses) see each record's fields, described for them when first asked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from typing import dataclass_transform
else:
    def dataclass_transform(**_options: Any) -> Callable[[Any], Any]:
        return lambda decorator: decorator

T = TypeVar("T")

FIELDS = "__record_fields__"


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""No default given."""


class FrozenInstanceError(AttributeError):
    """An attribute of a frozen record was assigned or deleted."""


class Field:
    """One field of a record: its name, default (or default factory), and whether ``repr``/``==`` use it."""

    __slots__ = ("name", "default", "default_factory", "repr", "compare")

    def __init__(self, default: Any = MISSING, default_factory: Any = MISSING, repr: bool = True,
                 compare: bool = True) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default, self.default_factory, self.repr, self.compare = default, default_factory, repr, compare

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r}, default_factory={self.default_factory!r})"


def field(*, default: Any = MISSING, default_factory: Callable[[], Any] | Any = MISSING, repr: bool = True,
          compare: bool = True) -> Any:
    """Describe a field: a ``default_factory`` called for each new record, or left out of ``repr``/``==``."""
    return Field(default, default_factory, repr, compare)


@overload
def record(cls: type[T], /) -> type[T]: ...


@overload
def record(*, frozen: bool = False, eq: bool = True, slots: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(field_specifiers=(field, Field))
def record(cls: type[T] | None = None, /, *, frozen: bool = False, eq: bool = True,
           slots: bool = False) -> type[T] | Callable[[type[T]], type[T]]:
    """Make ``cls`` a record (see the module docstring): as ``@dataclass(frozen=…, eq=…, slots=…)``."""
    def wrap(cls: type[T]) -> type[T]:
        made: type[T] = _make(cls, frozen=frozen, eq=eq, slots=slots)
        return made
    return wrap if cls is None else wrap(cls)


def is_record(value: object) -> bool:
    """Tell whether ``value`` is a record (an instance or the class)."""
    return hasattr(value, FIELDS)


def fields(value: object) -> tuple[Any, ...]:
    """The fields of a record (or of a dataclass), in order; each has a ``name``."""
    found = getattr(value, FIELDS, None)
    if found is not None:
        return tuple(found)
    import dataclasses
    return dataclasses.fields(value)  # type: ignore[arg-type]


def replace(value: T, /, **changes: Any) -> T:
    """Return a copy of a record (or a dataclass) with some fields changed, as ``dataclasses.replace``."""
    found = getattr(value, FIELDS, None)
    if found is None:
        import dataclasses
        return dataclasses.replace(value, **changes)  # type: ignore[type-var]
    for name in changes:
        if name not in {f.name for f in found}:
            raise TypeError(f"{type(value).__name__}.__init__() got an unexpected keyword argument {name!r}")
    return type(value)(**{f.name: changes[f.name] if f.name in changes else getattr(value, f.name)
                          for f in found})


class _DataclassFields:
    """A record's ``__dataclass_fields__``, made when code using :mod:`dataclasses` first asks for it.

    The module is imported only then (whoever asks has imported it already); the fields are described
    as ``@dataclass`` would have described them and kept on the class.
    """

    def __get__(self, instance: object, owner: type) -> dict[str, Any]:
        import dataclasses
        described: dict[str, Any] = {}
        annotations: dict[str, Any] = {}
        for base in reversed(owner.__mro__):
            annotations.update(base.__dict__.get("__annotations__", {}))
        for one in getattr(owner, FIELDS):
            made: Any = dataclasses.field(
                default=dataclasses.MISSING if one.default is MISSING else one.default,
                default_factory=dataclasses.MISSING if one.default_factory is MISSING else one.default_factory,
                repr=one.repr, compare=one.compare)
            made.name = one.name
            made.type = annotations.get(one.name, Any)
            made._field_type = dataclasses._FIELD  # type: ignore[attr-defined]  # what @dataclass sets on a field
            described[one.name] = made
        type.__setattr__(owner, "__dataclass_fields__", described)
        return described


def _make(cls: Any, *, frozen: bool, eq: bool, slots: bool) -> Any:
    inherited: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for known in getattr(base, FIELDS, ()):
            inherited[known.name] = known
    own = cls.__dict__.get("__annotations__", {})
    for name, annotation in own.items():
        if isinstance(annotation, str) and annotation.startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = cls.__dict__.get(name, MISSING)
        described = value if isinstance(value, Field) else Field(default=value)
        described.name = name
        inherited[name] = described
        if isinstance(value, Field):  # the class keeps the default itself, as a dataclass's does
            if value.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, value.default)
    found = tuple(inherited.values())
    defaulted = False
    for one in found:
        if one.default is MISSING and one.default_factory is MISSING:
            if defaulted:
                raise TypeError(f"non-default argument {one.name!r} follows default argument")
        else:
            defaulted = True
    if slots:
        cls = _with_slots(cls, found, frozen)
    setattr(cls, FIELDS, found)
    cls.__dataclass_fields__ = _DataclassFields()
    cls.__match_args__ = tuple(f.name for f in found)  # type: ignore[misc]  # set once, as a dataclass does
    if "__init__" not in cls.__dict__:
        cls.__init__ = _init(cls, found, frozen)
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = _repr(tuple(f.name for f in found if f.repr))
    explicit_hash = "__hash__" in cls.__dict__ and not (cls.__dict__["__hash__"] is None and "__eq__" in cls.__dict__)
    if eq:
        compared = tuple(f.name for f in found if f.compare)
        if "__eq__" not in cls.__dict__:
            cls.__eq__ = _eq(compared)
        if not explicit_hash:
            cls.__hash__ = _hash(compared) if frozen else None
    if frozen:
        names = frozenset(f.name for f in found)
        cls.__setattr__ = _frozen_setattr(cls, names)
        cls.__delattr__ = _frozen_delattr(cls, names)
    return cls


def _with_slots(cls: Any, found: tuple[Field, ...], frozen: bool) -> Any:
    """Make the class again with ``__slots__`` for its own fields (a slot cannot hold a class default); a frozen
    one pickles its fields' values, as a dataclass does."""
    body = dict(cls.__dict__)
    inherited = {name for base in cls.__mro__[1:] for name in getattr(base, "__slots__", ())}
    body["__slots__"] = tuple(f.name for f in found if f.name not in inherited)
    for one in found:
        body.pop(one.name, None)
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    if frozen:
        names = tuple(f.name for f in found)

        def __getstate__(self: Any) -> tuple[Any, ...]:
            return tuple(getattr(self, name) for name in names)

        def __setstate__(self: Any, state: tuple[Any, ...]) -> None:
            for name, value in zip(names, state, strict=True):
                object.__setattr__(self, name, value)

        body.setdefault("__getstate__", __getstate__)
        body.setdefault("__setstate__", __setstate__)
    made = type(cls)(cls.__name__, cls.__bases__, body)
    made.__qualname__ = cls.__qualname__
    return made


def _init(cls: type, found: tuple[Field, ...], frozen: bool) -> Callable[..., None]:
    """Compile the record's ``__init__``: its parameters are its fields, in order, with their defaults."""
    scope: dict[str, Any] = {"_MISSING": MISSING, "_set": object.__setattr__}
    parameters, lines = [], []
    for one in found:
        if one.default_factory is not MISSING:
            scope[f"_factory_{one.name}"] = one.default_factory
            parameters.append(f"{one.name}=_MISSING")
            value = f"_factory_{one.name}() if {one.name} is _MISSING else {one.name}"
        elif one.default is not MISSING:
            scope[f"_default_{one.name}"] = one.default
            parameters.append(f"{one.name}=_default_{one.name}")
            value = one.name
        else:
            parameters.append(one.name)
            value = one.name
        lines.append(f"    _set(self, {one.name!r}, {value})" if frozen else f"    self.{one.name} = {value}")
    if hasattr(cls, "__post_init__"):
        lines.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(parameters)}):\n" + ("\n".join(lines) or "    pass") + "\n"
    exec(source, scope)
    init: Callable[..., None] = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _repr(names: tuple[str, ...]) -> Callable[[Any], str]:
    def __repr__(self: Any) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__qualname__}({shown})"
    return __repr__


def _eq(names: tuple[str, ...]) -> Callable[[Any, object], Any]:
    def __eq__(self: Any, other: object) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return tuple(getattr(self, name) for name in names) == tuple(getattr(other, name) for name in names)
    return __eq__


def _hash(names: tuple[str, ...]) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:
        return hash(tuple(getattr(self, name) for name in names))
    return __hash__


def _frozen_setattr(cls: Any, names: frozenset[str]) -> Callable[[Any, str, Any], None]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)
    return __setattr__


def _frozen_delattr(cls: Any, names: frozenset[str]) -> Callable[[Any, str], None]:
    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)
    return __delattr__
