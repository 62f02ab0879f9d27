"""Errors a user can act on: the command line prints their message in one line, without a traceback.

Every check that a user's input, data or order of commands can trip raises an
:class:`AgfError` (or a subclass: the stages define their own, e.g. ``DatasetError``,
``AudioError``, ``BundleError``). Anything else that escapes is a bug in agf.
"""


class AgfError(Exception):
    """Base of every error whose message tells the user what to fix."""


class MissingStep(AgfError):
    """A stage needs the output of an earlier stage that has not been run."""


class SettingsError(AgfError):
    """A setting outside its declared bounds (see :mod:`agf.settings`)."""


class SettingsMismatch(AgfError):
    """Artefacts on disk were made with other settings than the ones asked for."""
