"""The `agf` sub-commands, one module each: ``configure(parser)`` declares its arguments, ``run(args)`` runs it."""
