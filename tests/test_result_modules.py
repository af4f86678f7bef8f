"""A verb's result that lives in its own module (so the verb loads no other result) shows as its text on its
own, and :mod:`lightnb.results` names it too."""

from __future__ import annotations

import subprocess
import sys


def _python(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_print_schema_results_render_without_the_other_results() -> None:
    """print-schema's results have their own module; they show as their text with no other result loaded,
    and :mod:`lightnb.results` still names them."""
    assert _python(r"""
import sys
from lightnb.printed_schema import PrintSchemaResult, SchemaCheckResult
print(repr(str(PrintSchemaResult("// schema\n"))), "lightnb.results" in sys.modules)
print(str(SchemaCheckResult("", False, configured=False)).startswith("No schema file is configured"))
from lightnb import results
print(results.PrintSchemaResult is PrintSchemaResult, results.SchemaCheckResult is SchemaCheckResult)
""") == ["'// schema\\n' False", "True", "True True"]


def test_a_run_result_renders_without_the_other_results() -> None:
    """A migration run's result has its own module too; it shows as its text with no other result loaded."""
    assert _python(r"""
import sys
from lightnb.run_result import RunResult
ran = RunResult("up", "app.db", (), 0.0)
print(str(ran) == "Nothing to do: no migration was pending", "lightnb.results" in sys.modules)
from lightnb import results
print(results.RunResult is RunResult)
""") == ["True False", "True"]
