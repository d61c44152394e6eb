"""The command line, all of it: one module per group of commands (`stack`, `local`, `data`,
`tenants`, `up`), what they share (`common`), and the parser with the one place errors become
messages and exit statuses (`app`). It sits at the end of the chain: nothing imports it."""

from tenancy.cli.app import main

__all__ = ["main"]
