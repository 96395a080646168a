"""The version of minifw."""

__version__ = "0.1.0"
