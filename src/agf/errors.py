"""Errors a user can act on: the command line prints their message, without a traceback."""


class AgfError(Exception):
    """Base of every error whose message tells the user what to fix."""
