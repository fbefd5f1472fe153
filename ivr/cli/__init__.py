"""The ``ivr`` command line, one module per command group or area (``*_cmds.py``).

``ivr.cli.context`` holds what commands share (``Context``, ``pass_ctx``, option parsers); ``ivr.cli.root``
holds the root group, adds every module's commands to it, and ``main()`` (the ``ivr`` console script).
"""

from ivr.cli.root import cli, main

__all__ = ["cli", "main"]
