"""The `obs` command line: main.py wires the commands; each module holds one family of them; options.py
defines the options several commands share. Only this layer prints and chooses exit codes."""

from obs.cli.main import main

__all__ = ["main"]
