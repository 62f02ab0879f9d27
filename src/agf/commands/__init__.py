"""The `agf` sub-commands, one module each: ``configure(parser)`` declares its arguments, ``run(args)`` runs it.

They are run through :mod:`agf.cli`, which imports only the one asked for; nothing here is
meant to be imported by library code.
"""

__all__: list[str] = []
