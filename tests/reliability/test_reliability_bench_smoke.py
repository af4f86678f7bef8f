"""``python -m bench --quick`` runs and prints one table (the full run is ``make bench``)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from reliability_support import REPO

sys.path.insert(0, str(REPO))
from bench.measure import Contender, alternate, paired_ratio, run_process


def test_quick_benchmark_prints_one_table():
    result = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "row_diff", "--rounds", "1"],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Machine: ") and "cores" in lines[0]
    assert lines[1].startswith("| benchmark | lightnb (CLI) | library call | peer |")
    assert lines[2].startswith("|---")
    assert len(lines) == 4 and lines[3].startswith("| row diff, 20,000 rows")
    assert "failed" not in lines[3]


def test_alternate_rotates_who_goes_first_and_pairs_rounds():
    order: list[str] = []
    a = Contender("a", call=lambda: order.append("a"))
    b = Contender("b", call=lambda: order.append("b"))
    first, second = alternate([a, b], 4)
    assert order == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert len(first.samples) == len(second.samples) == 4
    assert paired_ratio(first, second) > 0


@pytest.mark.skipif(not __import__("os").access("/usr/bin/time", __import__("os").X_OK),
                    reason="GNU time is installed by make test (scripts/install-system-deps.sh)")
def test_peak_memory_is_the_childs_own_not_this_pythons():
    ballast = bytearray(300 * 1024 * 1024)  # make this process big: a forked child must not inherit it
    ballast[::4096] = b"x" * len(ballast[::4096])
    sample = run_process(["/bin/true"])
    assert sample.peak_mib is not None and sample.peak_mib < 50
    big = run_process([sys.executable, "-c", "x = bytearray(200 * 1024 * 1024); x[::4096] = b'y' * len(x[::4096])"])
    assert big.peak_mib is not None and big.peak_mib > 190
    del ballast


def test_a_failing_command_is_an_error_with_its_stderr():
    with pytest.raises(RuntimeError, match="boom"):
        run_process([sys.executable, "-c", "import sys; sys.exit('boom')"])


def test_one_size_can_be_set_from_the_command_line():
    import argparse

    from bench import FULL
    from bench.__main__ import _with_size

    parser = argparse.ArgumentParser()
    sizes = _with_size(parser, FULL, "sample_users=100000")
    assert sizes.sample_users == 100_000 and sizes.snapshot_mib == FULL.snapshot_mib
    assert _with_size(parser, FULL, "capture_mib=64,640").capture_mib == (64, 640)
    for wrong in ("users=5", "sample_users=many", "sample_users="):
        with pytest.raises(SystemExit):
            _with_size(parser, FULL, wrong)
