"""Read Diesel model structs from Rust source with tree-sitter.

Finds every struct with its derives, ``#[diesel(...)]`` options (``table_name``,
``check_for_backend``, ``treat_none_as_null``, ``primary_key``), its fields in order with their
types and field options (``column_name``, ``deserialize_as``, ``serialize_as``, ``embed``,
``select_expression``, ``skip_insertion``), and the ``use`` declarations and type aliases in
scope, so that a struct's table can be traced to the schema module it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lightnb.errors import ModelDrift
from lightnb.models._syntax import CharOffsets, error_regions, node_text, parse_rust
from lightnb.models.types import RustType

if TYPE_CHECKING:
    from tree_sitter import Node

_PATH_NODES = ("identifier", "scoped_identifier", "crate", "self", "super", "metavariable")


@dataclass(frozen=True, slots=True)
class UseImport:
    """One name brought into scope by ``use``.

    :param local: the name usable in the module (None for a glob import).
    :param path: the full path as written (``("crate", "schema", "users")``).
    :param line: 1-based line of the declaration.
    :param end_line: 1-based line where the declaration ends.
    """

    local: str | None
    path: tuple[str, ...]
    line: int
    end_line: int = 0

    @property
    def glob(self) -> bool:
        """Return whether this is ``use path::*``."""
        return self.local is None


@dataclass(frozen=True, slots=True)
class ModelField:
    """One field of a struct.

    :param name: the field name (``"0"``, ``"1"`` … in a tuple struct).
    :param type: the declared type.
    :param line: 1-based line of the field's name.
    :param column_name: ``#[diesel(column_name = ...)]``, else None.
    :param options: the other ``#[diesel(...)]`` field options by name (``embed`` -> ``""``).
    :param visibility: ``pub``, ``pub(crate)`` or ``""``.
    :param start_byte: ``str`` index of the field's first attribute or doc comment.
    :param end_byte: ``str`` index just after the field declaration (before its comma).
    :param type_span: ``str`` indexes of the type in the file.
    :param has_comma: whether a comma follows the field.
    :param written: the type as written, before aliases and imports are traced (diesel's derives
        decide ``Option<_>`` handling on it, by its last path segment).
    :param conditional: whether a ``#[cfg]``/``#[cfg_attr]`` attribute sits on the field.
    """

    name: str
    type: RustType
    line: int
    column_name: str | None = None
    options: dict[str, str] = field(default_factory=dict, compare=False)
    visibility: str = ""
    start_byte: int = 0
    end_byte: int = 0
    type_span: tuple[int, int] = (0, 0)
    has_comma: bool = True
    written: RustType | None = field(default=None, compare=False)
    conditional: bool = False

    @property
    def column(self) -> str:
        """Return the column this field maps to."""
        return self.column_name or self.name


@dataclass(frozen=True, slots=True)
class ModelStruct:
    """A struct and what its Diesel derives need to know.

    :param name: the struct name.
    :param derives: the derive names, last path segment only (``Queryable``).
    :param table_path: the ``table_name`` path as written, or None when defaulted.
    :param fields: the fields in declaration order.
    :param options: the struct's other ``#[diesel(...)]`` options by name.
    :param check_for_backend: backends named in ``check_for_backend``.
    :param path: the file, if read from one.
    :param line: 1-based line of the ``struct`` keyword's item.
    :param module: the module path of the struct (``("crate", "models", "user_models")``).
    :param uses: ``use`` declarations in scope.
    :param aliases: ``type`` aliases declared in the same module.
    :param start_byte: ``str`` index of the first attribute.
    :param end_byte: ``str`` index of the end of the struct.
    :param body_span: ``str`` indexes of the ``{ ... }`` field list.
    :param tuple_struct: whether the fields are positional.
    :param conditional: whether the struct, one of its fields, or a module around it carries
        ``#[cfg]``/``#[cfg_attr]``: ``cargo build`` may compile it otherwise than it reads.
    :param table_paths: every ``table_name`` given (Insertable derives one impl per table).
    :param generics: the struct's generic parameters (``'a``, ``N``), which its fields must keep using.
    :param attributes: the full path of every attribute on the struct (``derive``, ``diesel``,
        ``my_crate::model``): an attribute that is not diesel's, serde's or the language's may be
        a macro that rewrites the struct.
    :param diesel_text: the text of the struct's ``#[diesel(...)]`` attributes (the columns its
        ``primary_key``, ``belongs_to`` … options name).
    """

    name: str
    derives: tuple[str, ...]
    table_path: tuple[str, ...] | None
    fields: tuple[ModelField, ...]
    options: dict[str, str] = field(default_factory=dict, compare=False)
    check_for_backend: tuple[str, ...] = ()
    path: Path | None = None
    line: int = 0
    module: tuple[str, ...] = ("crate",)
    uses: tuple[UseImport, ...] = ()
    aliases: dict[str, RustType] = field(default_factory=dict, compare=False)
    start_byte: int = 0
    end_byte: int = 0
    body_span: tuple[int, int] = (0, 0)
    tuple_struct: bool = False
    conditional: bool = False
    table_paths: tuple[tuple[str, ...], ...] = ()
    generics: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    diesel_text: str = field(default="", compare=False)

    @property
    def table_name(self) -> str:
        """Return the table's identifier: the last segment of ``table_name``, else diesel's default."""
        if self.table_path:
            return self.table_path[-1]
        return infer_table_name(self.name)

    @property
    def table_explicit(self) -> bool:
        """Return whether ``table_name`` is written on the struct."""
        return self.table_path is not None

    def derives_any(self, *names: str) -> bool:
        """Return whether the struct derives any of ``names``."""
        return any(name in self.derives for name in names)

    def field(self, name: str) -> ModelField | None:
        """Return the field with this name, or None."""
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True, slots=True)
class RustFile:
    """The model structs of one Rust file.

    :param path: the file (None for text).
    :param module: its module path.
    :param structs: the structs in file order.
    :param uses: top-level ``use`` declarations.
    :param text: the source text.
    :param mods: the file-backed modules it declares (``mod name;``).
    :param open_mods: whether it may declare modules lightnb cannot see (``#[path]`` on a
        ``mod``, or a top-level macro call that may expand to one).
    :param unreadable: ``(first line, last line)`` of each region that does not parse as Rust;
        structs in it are not read, and structs overlapping it may be read incompletely.
    :param aliases: the file's top-level ``type`` aliases, traced through its imports (other
        files import them: ``use super::types::UnixTime``).
    :param macros: the ``macro_rules!`` definitions and macro calls of the file (structs a macro
        writes are not read; they are named when a change concerns them).
    """

    path: Path | None
    module: tuple[str, ...]
    structs: tuple[ModelStruct, ...]
    uses: tuple[UseImport, ...]
    text: str = field(default="", repr=False, compare=False)
    mods: tuple[ModDecl, ...] = ()
    open_mods: bool = False
    unreadable: tuple[tuple[int, int], ...] = ()
    aliases: dict[str, RustType] = field(default_factory=dict, compare=False)
    macros: tuple[MacroItem, ...] = ()


@dataclass(frozen=True, slots=True)
class MacroItem:
    """A ``macro_rules!`` definition or a macro call, as far as model structs are concerned.

    :param name: the macro's name (last path segment for a call).
    :param kind: ``definition`` or ``call``.
    :param line: 1-based line where it starts.
    :param words: the identifiers inside it (a table or column it may name).
    :param makes_models: for a definition, whether it derives a Diesel model trait.
    """

    name: str
    kind: str
    line: int
    words: frozenset[str] = frozenset()
    makes_models: bool = False


@dataclass(frozen=True, slots=True)
class ModDecl:
    """A ``mod name;`` declaration: the module lives in its own file.

    :param conditional: whether ``#[cfg]``/``#[cfg_attr]`` sits on it.
    """

    name: str
    conditional: bool = False


def infer_table_name(struct_name: str) -> str:
    """Return diesel's default table name: snake_case plus ``s`` (``UserSetting`` -> ``user_settings``).

    Mirrors ``infer_table_name`` in diesel_derives/src/util.rs: no other pluralisation rule.
    """
    if not struct_name:
        return ""
    out = [struct_name[0].lower()]
    for char in struct_name[1:]:
        out.append("_" + char.lower() if char.isupper() else char)
    return "".join(out) + "s"


def module_path_of(file: Path, src_root: Path) -> tuple[str, ...]:
    """Return the Rust module path of a file below the crate's ``src`` directory.

    ``src/models/user.rs`` -> ``crate::models::user``; ``mod.rs``, ``lib.rs`` and ``main.rs``
    name their directory.
    """
    try:
        parts = list(file.resolve().relative_to(src_root.resolve()).with_suffix("").parts)
    except ValueError:
        parts = [file.stem]
    if parts and parts[-1] == "mod":
        parts.pop()
    if parts == ["lib"] or parts == ["main"]:
        parts = []
    return ("crate", *parts)


def read_rust(text: str, *, path: Path | None = None, module: tuple[str, ...] = ("crate",)) -> RustFile:
    """Read the structs, ``use`` declarations and aliases of Rust source.

    :param text: the Rust source.
    :param path: the file it came from (kept on every struct for messages).
    :param module: the module path of the file (see :func:`module_path_of`).
    """
    root = parse_rust(text)
    structs: list[ModelStruct] = []
    mods: list[ModDecl] = []
    inner_cfg = any(c.type == "inner_attribute_item" and _attribute(c)[0] in _CFG for c in root.named_children)
    top_aliases: dict[str, RustType] = {}
    top_uses, open_mods = _read_scope(root, module, path, structs, CharOffsets(text), inner_cfg, mods,
                                      top_aliases)
    return RustFile(path=path, module=module, structs=tuple(structs), uses=top_uses, text=text,
                    mods=tuple(mods), open_mods=open_mods, unreadable=error_regions(root),
                    aliases=top_aliases, macros=tuple(_macros(root)))


def read_rust_file(path: Path, *, module: tuple[str, ...] = ("crate",)) -> RustFile:
    """Read one Rust file (see :func:`read_rust`).

    :raises ModelDrift: when the file cannot be read.
    """
    try:
        if not path.is_file():  # a FIFO or device would block the read
            raise ModelDrift(f"model file {path} is not a regular file; check the --models-dir path", path=path)
        with open(path, encoding="utf-8", newline="") as handle:  # line ends kept: edits keep them too
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise ModelDrift(f"cannot read model file {path}: {error}; check the --models-dir path",
                         path=path) from error
    return read_rust(text, path=path, module=module)


def read_models_dir(models_dir: Path, *, src_root: Path | None = None) -> list[RustFile]:
    """Read every ``*.rs`` file below ``models_dir`` (or the single file it names).

    :param models_dir: the models folder, e.g. ``src/models``, or one ``models.rs`` file.
    :param src_root: the crate's ``src`` folder, to compute module paths (default: the parent of
        ``models_dir``).
    :raises ModelDrift: when the folder does not exist, or names a file that is not ``.rs``.
    """
    models_dir = Path(models_dir)
    if models_dir.is_file() and models_dir.suffix != ".rs":
        raise ModelDrift(f"{models_dir} is a file, not a models folder or a .rs file; pass --models-dir "
                         f"the folder holding the model structs (e.g. src/models)", path=models_dir)
    if models_dir.is_file():
        files = [models_dir]
        src_root = src_root or models_dir.parent
    elif models_dir.is_dir():
        files = sorted(models_dir.rglob("*.rs"))
        src_root = src_root or models_dir.parent
    else:
        raise ModelDrift(f"models folder {models_dir} not found; pass --models-dir DIR "
                         f"(default: src/models next to diesel.toml)", path=models_dir)
    return [read_rust_file(file, module=module_path_of(file, src_root)) for file in files]


# -- scopes ------------------------------------------------------------------------------------


_CFG = ("cfg", "cfg_attr")


def _read_scope(scope: Node, module: tuple[str, ...], path: Path | None,
                structs: list[ModelStruct], at: CharOffsets, conditional: bool = False,
                mods: list[ModDecl] | None = None,
                resolved_aliases: dict[str, RustType] | None = None) -> tuple[tuple[UseImport, ...], bool]:
    """Read one module body: its uses and aliases first, then its structs (and inline modules).

    Return the uses and whether the body may declare modules that cannot be seen.

    :param resolved_aliases: filled with the body's aliases, traced through its imports.
    """
    uses: list[UseImport] = []
    aliases: dict[str, RustType] = {}
    for child in scope.named_children:
        if child.type == "use_declaration":
            argument = child.child_by_field_name("argument")
            if argument is not None:
                uses.extend(UseImport(u.local, u.path, u.line, child.end_point[0] + 1)
                            for u in _use_items(argument, (), child.start_point[0] + 1))
        elif child.type == "type_item":
            name, value = child.child_by_field_name("name"), child.child_by_field_name("type")
            if name is not None and value is not None and child.child_by_field_name("type_parameters") is None:
                aliases[node_text(name)] = rust_type(value)
    imports = {u.local: u.path for u in uses if u.local is not None}
    globs = tuple(u.path for u in uses if u.glob)
    scope_info = _Scope(aliases, imports, globs)
    if resolved_aliases is not None:
        resolved_aliases.update({name: scope_info.resolve(value) for name, value in aliases.items()})
    open_mods = False
    attributes: list[Node] = []
    for child in scope.named_children:
        if child.type == "attribute_item":
            attributes.append(child)
        elif child.type in ("line_comment", "block_comment"):
            continue
        else:
            cfg = any(_attribute(a)[0] in _CFG for a in attributes)
            if child.type == "struct_item":
                structs.append(_read_struct(child, attributes, module, path, tuple(uses), scope_info, at,
                                            conditional))
            elif child.type == "mod_item":
                name, body = child.child_by_field_name("name"), child.child_by_field_name("body")
                if name is not None and body is not None:
                    _read_scope(body, module + (node_text(name),), path, structs, at, conditional or cfg)
                elif name is not None and mods is not None:
                    if any(_attribute(a)[0] == "path" for a in attributes):
                        open_mods = True
                    mods.append(ModDecl(node_text(name), conditional or cfg))
            elif child.type in ("macro_invocation", "expression_statement"):
                open_mods = True
            attributes = []
    return tuple(uses), open_mods


@dataclass(frozen=True, slots=True)
class _Scope:
    """What a module body brings into scope for field types."""

    aliases: dict[str, RustType]
    imports: dict[str, tuple[str, ...]]
    globs: tuple[tuple[str, ...], ...]

    def resolve(self, written: RustType) -> RustType:
        """Replace same-module aliases, then trace imports (see :meth:`RustType.resolve`)."""
        return written.substitute(self.aliases).resolve(self.imports, self.globs)


def _use_items(node: Node, prefix: tuple[str, ...], line: int) -> list[UseImport]:
    """Flatten one use tree into imports."""
    kind = node.type
    if kind in _PATH_NODES:
        full = prefix + _path_segments(node)
        return [UseImport(full[-1], full, line)] if full else []
    if kind == "use_as_clause":
        path_node, alias = node.child_by_field_name("path"), node.child_by_field_name("alias")
        full = prefix + (_path_segments(path_node) if path_node is not None else ())
        return [UseImport(node_text(alias), full, line)]
    if kind == "use_wildcard":
        base = next((c for c in node.named_children if c.type in _PATH_NODES), None)
        return [UseImport(None, prefix + (_path_segments(base) if base is not None else ()), line)]
    if kind == "scoped_use_list":
        path_node, items = node.child_by_field_name("path"), node.child_by_field_name("list")
        under = prefix + (_path_segments(path_node) if path_node is not None else ())
        return _use_items(items, under, line) if items is not None else []
    if kind == "use_list":
        out: list[UseImport] = []
        for item in node.named_children:
            if item.type == "self":  # `use a::b::{self}` imports `b`
                out.append(UseImport(prefix[-1], prefix, line)) if prefix else None
            else:
                out.extend(_use_items(item, prefix, line))
        return out
    return []


def _path_segments(node: Node | None) -> tuple[str, ...]:
    """Return the segments of a (scoped) identifier path."""
    if node is None:
        return ()
    if node.type in ("scoped_identifier", "scoped_type_identifier"):
        path, name = node.child_by_field_name("path"), node.child_by_field_name("name")
        return _path_segments(path) + ((node_text(name),) if name is not None else ())
    return (node_text(node),)


# -- structs -----------------------------------------------------------------------------------


def _read_struct(node: Node, attributes: list[Node], module: tuple[str, ...], path: Path | None,
                 uses: tuple[UseImport, ...], scope: _Scope, at: CharOffsets,
                 conditional: bool = False) -> ModelStruct:
    derives: list[str] = []
    options: dict[str, str] = {}
    table_paths: list[tuple[str, ...]] = []
    backends: list[str] = []
    diesel_texts: list[str] = []
    for attribute in attributes:
        name, tokens = _attribute(attribute)
        if name == "diesel":
            diesel_texts.append(node_text(attribute))
        if name == "derive":
            derives.extend(group[-1] for group in _split_paths(tokens))
        elif name == "diesel":
            for key, value, args in _options(tokens):
                if key == "table_name":
                    table_paths.append(_value_path(value))
                elif key == "check_for_backend":
                    backends.extend("::".join(group) for group in _split_paths(args))
                else:
                    options[key] = _value_text(value) or _value_text(args)
        elif name == "table_name":  # diesel 1.x: #[table_name = "users"]
            if tokens[:1] and _text_of(tokens[0]) == "=":
                table_paths.append(_value_path(tokens[1:]))
        elif name in _CFG:
            conditional = True
    body = node.child_by_field_name("body")
    fields: tuple[ModelField, ...] = ()
    tuple_struct = False
    if body is not None:
        tuple_struct = body.type == "ordered_field_declaration_list"
        fields = _read_fields(body, scope, at)
    start = attributes[0].start_byte if attributes else node.start_byte
    return ModelStruct(
        name=node_text(node.child_by_field_name("name")), derives=tuple(derives),
        table_path=table_paths[0] if table_paths else None,  # Selectable/AsChangeset use the first
        fields=fields, options=options, check_for_backend=tuple(backends), path=path,
        line=node.start_point[0] + 1, module=module, uses=uses, aliases=dict(scope.aliases),
        start_byte=at(start), end_byte=at(node.end_byte),
        body_span=(at(body.start_byte), at(body.end_byte)) if body is not None
        else (at(node.end_byte), at(node.end_byte)),
        tuple_struct=tuple_struct, conditional=conditional or any(f.conditional for f in fields),
        table_paths=tuple(table_paths), generics=_generics(node),
        attributes=tuple(_attribute_path(a) for a in attributes), diesel_text="\n".join(diesel_texts))


def _generics(node: Node) -> tuple[str, ...]:
    """Return the names of a struct's generic parameters (``'a``, ``T``, ``N``)."""
    parameters = node.child_by_field_name("type_parameters")
    names: list[str] = []
    for parameter in parameters.named_children if parameters is not None else []:
        if parameter.type == "lifetime_parameter":
            lifetime = next((c for c in parameter.named_children if c.type == "lifetime"), None)
            names.append(node_text(lifetime))
        elif parameter.type in ("type_parameter", "const_parameter"):
            name = parameter.child_by_field_name("name") or next(
                (c for c in parameter.named_children if c.type in ("type_identifier", "identifier")), None)
            names.append(node_text(name))
        elif parameter.type in ("type_identifier", "constrained_type_parameter", "optional_type_parameter"):
            first = parameter if parameter.type == "type_identifier" else parameter.named_children[0]
            names.append(node_text(first))
    return tuple(n for n in names if n)


def _attribute_path(item: Node) -> str:
    """Return the full path of an attribute (``derive``, ``my_crate::model``)."""
    attribute = next((c for c in item.named_children if c.type == "attribute"), None)
    if attribute is None or not attribute.named_children:
        return ""
    return "::".join(_path_segments(attribute.named_children[0]))


_MODEL_TRAITS = frozenset({"Queryable", "Selectable", "Insertable", "AsChangeset"})


def _macros(root: Node) -> list[MacroItem]:
    """Return the ``macro_rules!`` definitions and the module-level macro calls below ``root``."""
    out: list[MacroItem] = []
    stack = [root]
    while stack:
        node = stack.pop()
        for child in node.named_children:
            if child.type == "macro_definition":
                name = child.child_by_field_name("name")
                words = _words(child)
                out.append(MacroItem(node_text(name), "definition", child.start_point[0] + 1, words,
                                     makes_models="derive" in words and bool(words & _MODEL_TRAITS)))
            elif child.type == "macro_invocation" or (child.type == "expression_statement" and child.named_children
                                                      and child.named_children[0].type == "macro_invocation"):
                call = child if child.type == "macro_invocation" else child.named_children[0]
                macro = call.child_by_field_name("macro")
                called = _path_segments(macro)[-1] if macro is not None and _path_segments(macro) else ""
                out.append(MacroItem(called, "call", call.start_point[0] + 1, _words(call)))
            elif child.type == "mod_item":
                body = child.child_by_field_name("body")
                if body is not None:
                    stack.append(body)
    return sorted(out, key=lambda m: m.line)


def _words(node: Node) -> frozenset[str]:
    """Return every identifier-like token below ``node``."""
    words: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if current.child_count == 0:
            text = node_text(current)
            if text[:1].isalpha() or text[:1] == "_":
                words.add(text)
        stack.extend(current.children)
    return frozenset(words)


def _read_fields(body: Node, scope: _Scope, at: CharOffsets) -> tuple[ModelField, ...]:
    fields: list[ModelField] = []
    attributes: list[Node] = []
    leading: Node | None = None  # first attribute or doc comment of the next field
    children = body.children
    index = 0
    for position, child in enumerate(children):
        if child.type == "attribute_item":
            attributes.append(child)
            leading = leading or child
            continue
        if child.type == "line_comment" and node_text(child).startswith("///"):
            leading = leading or child
            continue
        if child.type not in ("field_declaration", "visibility_modifier") and not child.is_named:
            continue
        if body.type == "ordered_field_declaration_list":
            if child.type == "visibility_modifier" or child.type in ("line_comment", "block_comment"):
                continue
            name, visibility, anchor = str(index), "", child
            type_node: Node | None = child
        elif child.type == "field_declaration":
            name_node, type_node = child.child_by_field_name("name"), child.child_by_field_name("type")
            name = node_text(name_node)
            visibility = next((node_text(c) for c in child.children if c.type == "visibility_modifier"), "")
            anchor = child
        else:
            continue
        if type_node is None:
            continue
        column_name, options = _field_options(attributes)
        next_sibling = children[position + 1] if position + 1 < len(children) else None
        written = rust_type(type_node)
        fields.append(ModelField(
            name=name, type=scope.resolve(written), line=anchor.start_point[0] + 1,
            column_name=column_name, options=options, visibility=visibility,
            start_byte=at((leading or anchor).start_byte), end_byte=at(anchor.end_byte),
            type_span=(at(type_node.start_byte), at(type_node.end_byte)),
            has_comma=next_sibling is not None and next_sibling.type == ",",
            written=written, conditional=any(_attribute(a)[0] in _CFG for a in attributes)))
        attributes, leading = [], None
        index += 1
    return tuple(fields)


def _field_options(attributes: list[Node]) -> tuple[str | None, dict[str, str]]:
    column_name: str | None = None
    options: dict[str, str] = {}
    for attribute in attributes:
        name, tokens = _attribute(attribute)
        if name == "diesel":
            for key, value, args in _options(tokens):
                if key == "column_name":
                    column_name = _value_text(value).strip('"')
                else:
                    options[key] = _value_text(value) or _value_text(args)
        elif name == "column_name" and tokens[:1] and _text_of(tokens[0]) == "=":  # diesel 1.x
            column_name = _value_text(tokens[1:]).strip('"')
    return column_name, options


# -- attributes --------------------------------------------------------------------------------


def _attribute(item: Node) -> tuple[str, list[Node]]:
    """Return an attribute's name and its argument tokens (``= value`` kept as tokens)."""
    attribute = next((c for c in item.named_children if c.type == "attribute"), None)
    if attribute is None:
        return "", []
    name_node = attribute.named_children[0] if attribute.named_children else None
    name = _path_segments(name_node)[-1] if name_node is not None else ""
    arguments = attribute.child_by_field_name("arguments")
    if arguments is not None:
        return name, list(arguments.children[1:-1])
    value = attribute.child_by_field_name("value")
    tokens = [c for c in attribute.children if c.type == "="]
    return name, tokens + ([value] if value is not None else [])


def _split_top(tokens: list[Node]) -> list[list[Node]]:
    groups: list[list[Node]] = [[]]
    for token in tokens:
        if token.type == ",":
            groups.append([])
        elif token.type not in ("line_comment", "block_comment"):
            groups[-1].append(token)
    return [group for group in groups if group]


def _split_paths(tokens: list[Node]) -> list[tuple[str, ...]]:
    """Split ``a::B, C`` into paths."""
    return [tuple(_text_of(t) for t in group if t.type != "::") for group in _split_top(tokens)]


def _options(tokens: list[Node]) -> list[tuple[str, list[Node], list[Node]]]:
    """Split ``key = value, key(args), flag`` into (key, value tokens, argument tokens)."""
    out: list[tuple[str, list[Node], list[Node]]] = []
    for group in _split_top(tokens):
        key = _text_of(group[0])
        rest = group[1:]
        if rest and rest[0].type == "=":
            out.append((key, rest[1:], []))
        elif rest and rest[0].type == "token_tree":
            out.append((key, [], list(rest[0].children[1:-1])))
        else:
            out.append((key, [], []))
    return out


def _text_of(node: Node) -> str:
    return node_text(node)


def _value_text(tokens: list[Node]) -> str:
    """Return the tokens' source text joined without spaces around ``::``."""
    return "".join(node_text(t) for t in tokens)


def _value_path(tokens: list[Node]) -> tuple[str, ...]:
    """Return a path value (``crate::schema::users``, or a 1.x string literal ``"users"``)."""
    text = _value_text(tokens).strip()
    if text.startswith('"'):
        text = text.strip('"')
    return tuple(segment for segment in text.split("::") if segment)


# -- types -------------------------------------------------------------------------------------


def rust_type(node: Node) -> RustType:
    """Convert a tree-sitter type node into a :class:`RustType`."""
    text = node_text(node)
    kind = node.type
    if kind in ("primitive_type", "type_identifier"):
        return RustType((text,), (), text)
    if kind == "scoped_type_identifier":
        return RustType(_path_segments(node), (), text)
    if kind == "generic_type":
        base = node.child_by_field_name("type")
        arguments = node.child_by_field_name("type_arguments")
        args = tuple(rust_type(a) for a in arguments.named_children
                     if a.type not in ("lifetime", "line_comment", "block_comment")) if arguments else ()
        base_path = _path_segments(base) if base is not None and base.type != "type_identifier" \
            else (node_text(base),)
        return RustType(base_path, args, text)
    if kind == "reference_type":
        inner = node.child_by_field_name("type")
        return RustType(("&",), (rust_type(inner),) if inner is not None else (), text)
    if kind == "array_type" and node.child_by_field_name("length") is None:
        inner = node.child_by_field_name("element")
        return RustType(("[]",), (rust_type(inner),) if inner is not None else (), text)
    if kind == "tuple_type":
        return RustType(("()",), tuple(rust_type(c) for c in node.named_children), text)
    return RustType(("?",), (), text)


def parse_type(text: str) -> RustType:
    """Parse a type written as text (``Option<String>``) with the Rust grammar."""
    root = parse_rust(f"type __LightnbT = {text};")
    item = next((c for c in root.named_children if c.type == "type_item"), None)
    value = item.child_by_field_name("type") if item is not None else None
    return rust_type(value) if value is not None else RustType(("?",), (), text)


def resolve_type_text(struct: ModelStruct, text: str) -> RustType:
    """Parse a type written in an attribute (``deserialize_as = ...``) and trace it in the struct's scope."""
    imports = {u.local: u.path for u in struct.uses if u.local is not None}
    globs = tuple(u.path for u in struct.uses if u.glob)
    return _Scope(struct.aliases, imports, globs).resolve(parse_type(text))
