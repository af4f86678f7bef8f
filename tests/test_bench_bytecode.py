"""The benchmark times lightnb as installed: its modules' bytecode compiled before any timed run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import bench


def test_the_benchmark_compiles_lightnb_before_timing_it() -> None:
    source = Path(bench.REPO) / "lightnb" / "progress.py"
    cached = Path(importlib.util.cache_from_source(str(source)))
    cached.unlink(missing_ok=True)
    bench.compile_bytecode()
    assert cached.is_file()  # even where the environment forbids Python to write it (PYTHONDONTWRITEBYTECODE)
