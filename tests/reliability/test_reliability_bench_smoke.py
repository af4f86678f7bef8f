"""``python -m bench --quick --only row_diff`` runs and prints its table (the full run is ``make bench``)."""

from __future__ import annotations

import subprocess
import sys

from reliability_support import REPO


def test_quick_benchmark_prints_one_table():
    result = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "row_diff", "--repeats", "1"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Machine: ") and "cores" in lines[0]
    assert lines[1].startswith("| benchmark | lightnb | baseline |")
    assert lines[2].startswith("|---")
    assert len(lines) == 4 and lines[3].startswith("| row diff, 20,000 rows")
    assert "failed:" not in lines[3]
