"""The workbook's widgets: one panel per step, thin views over :mod:`lightnb.steps`.

Each factory takes the :class:`Workbook` (project + workspace copy) and returns a
:class:`StepPanel`; display it in a cell. ``panel.result`` holds the step's result object,
so the next cell can keep working with it in pandas. Displayed, every panel also leaves a static
record of what it did (HTML and Markdown) in the saved notebook, for readers without widgets.

Needs the workbook extra (``pip install 'lightnb[workbook]'``).
"""

from __future__ import annotations

from lightnb.extras import require

require("ipywidgets", "the workbook's panels (lightnb.ui)")

from lightnb.ui.edit import edit_panel as edit
from lightnb.ui.generate import generate_panel as generate
from lightnb.ui.inspect import inspect_panel as inspect
from lightnb.ui.models import models_panel as models
from lightnb.ui.panel import StepPanel
from lightnb.ui.revert import revert_panel as revert
from lightnb.ui.run import run_panel as run
from lightnb.ui.test import test_panel as test
from lightnb.ui.verify import SignOffPanel, signoff
from lightnb.ui.verify import verify_panel as verify
from lightnb.ui.workbook import Workbook, open_workbook

workbook = open_workbook

__all__ = ["SignOffPanel", "StepPanel", "Workbook", "edit", "generate", "inspect", "models", "revert", "run", "signoff",
           "test", "verify", "workbook"]
