"""The `agf` sub-commands, one module each: ``configure(parser)`` declares its arguments, ``run(args)`` runs it.

They are run through :mod:`agf.cli`, which imports only the one asked for. At the top a command
module imports only settings and constants (what ``--help`` shows); the stage it runs is
imported in ``run``, so ``agf COMMAND --help`` starts without loading PyTorch, Dask or
matplotlib. Nothing here is meant to be imported by library code.
"""

__all__: list[str] = []
