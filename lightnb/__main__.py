"""``python -m lightnb`` runs the CLI."""

import sys

from lightnb.cli import main

sys.exit(main())
