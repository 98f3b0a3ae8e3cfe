"""revloop: the revenue decision loop. This package holds only the CLI, typed settings and the
web app's assembly; the architecture lives in the layer packages (see DESIGN.md)."""

__version__ = "0.1.0"
