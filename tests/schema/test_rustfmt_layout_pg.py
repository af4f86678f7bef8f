"""The rustfmt emulation on PostgreSQL output, checked against rustfmt itself when it is installed.

diesel 2.3 pipes print-schema through rustfmt; lightnb lays the text out the same way without a
Rust toolchain. Here random schemas (long and odd type names, derive lists, schema modules, many
tables) are rendered by lightnb and compared with what rustfmt makes of diesel's raw text (or the
raw text itself when rustfmt refuses it, as diesel does).
"""

from __future__ import annotations

import importlib
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lightnb.schema.config import DOCS_FALLBACK, DOCS_NONE, PrintSchemaOptions
from lightnb.schema.inference import table_groups
from lightnb.schema.model import Column, CustomType, Schema, Table
from lightnb.schema.naming import column_rust_name, table_rust_name, upper_camel_case

print_schema_module = importlib.import_module("lightnb.schema.print_schema")
RUSTFMT = shutil.which("rustfmt")
pytestmark = pytest.mark.skipif(RUSTFMT is None, reason="rustfmt is not installed (rustup component add rustfmt)")

_NAME = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz_ABCXYZ0123456789 \"#'-é日"), min_size=1, max_size=60)
_DERIVES = st.lists(st.sampled_from(["diesel::query_builder::QueryId", "Clone", "Debug", "PartialEq", "Eq", "Hash",
                                     "serde::Serialize", "serde::Deserialize", "Copy", "core::fmt::Debug"]),
                    unique=True, max_size=10)


def rustfmt(text: str) -> str | None:
    assert RUSTFMT is not None
    done = subprocess.run([RUSTFMT, "--edition", "2015"], input=text, capture_output=True, text=True, timeout=60)
    return done.stdout if done.returncode == 0 else None


@st.composite
def schemas(draw: st.DrawFn) -> tuple[Schema, PrintSchemaOptions]:
    types = []
    for sql_name in draw(st.lists(_NAME, min_size=1, max_size=3)):
        schema = draw(st.one_of(st.none(), _NAME))
        types.append(CustomType(sql_name, upper_camel_case(sql_name), schema))
    columns = tuple(Column(f"c{i}", column_rust_name(f"c{i}", "t"), t.rust_name, draw(st.booleans()),
                           array=draw(st.booleans()), custom_type=t) for i, t in enumerate(types))
    names = draw(st.lists(st.text(st.sampled_from("abcdefghijklmnop_0123456789"), min_size=1, max_size=25),
                          min_size=1, max_size=14, unique=True))
    tables = tuple(Table(n, table_rust_name(n), ("c0",), columns) for n in names)
    module = draw(st.sampled_from([None, "app", "reporting_and_analytics_with_a_long_name", "type", "my-schema"]))
    options = PrintSchemaOptions(with_docs=draw(st.sampled_from([DOCS_FALLBACK, DOCS_NONE])),
                                 custom_type_derives=tuple(draw(_DERIVES)))
    return Schema(tables, (), tuple(table_groups(tables, (), "all_tables")), module=module), options


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schemas())
def test_layout_matches_rustfmt(case: tuple[Schema, PrintSchemaOptions]) -> None:
    schema, options = case
    raw = print_schema_module._assemble(schema, options, print_schema_module._RAW)
    assert print_schema_module.render(schema, options) == (rustfmt(raw) or raw)
