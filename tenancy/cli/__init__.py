"""The command line's one home: the parser and error handling (`app`) and what every command
group shares (`common`). The groups themselves live beside the code they serve."""

from tenancy.cli.app import main

__all__ = ["main"]
