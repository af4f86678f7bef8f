"""The PostgreSQL backend: a private cluster, connections, statement splitting, the catalogue.

psycopg 3 is the driver and pglast (PostgreSQL's own parser) splits scripts. Nothing outside
:mod:`lightnb.backends` imports either.
"""

from __future__ import annotations
