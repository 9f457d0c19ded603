"""The ``onemap`` command line: one module per command group."""
