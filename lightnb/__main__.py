"""``python -m lightnb`` runs the CLI."""

import sys

from lightnb.cli import run

sys.exit(run())
