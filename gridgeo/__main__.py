"""``python -m gridgeo``: the same as the ``gridgeo`` command."""

from gridgeo.cli import main

main()
