"""Typed settings, checked against one declared table, saved as JSON next to the artefacts they produced.

Every stage has a frozen dataclass of settings deriving from :class:`Settings`. Its bounds are
declared once, in the class's ``constraints`` table (scikit-learn's ``_parameter_constraints``
habit), and checked when an instance is made, so a bad value is refused with one line naming
the setting, wherever it came from (command line, preset, Python call), before any work starts.

A stage writes its settings beside its output (``settings.json``); a later run compares its own
settings with the saved ones and refuses to mix artefacts made with different settings instead
of silently reusing them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from agf import __version__
from agf.atomic import write_json
from agf.errors import SettingsError, SettingsMismatch

T = TypeVar("T")


@dataclass(frozen=True)
class Interval:
    """A number of ``kind`` in ``[low, high]``; an open end with ``low_open`` / ``high_open``, none with None."""

    kind: type
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def holds(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float) if self.kind is float else self.kind):
            return False
        if value != value:  # NaN
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def __str__(self) -> str:
        what = "a whole number" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            return (f"{what} in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}"
                    f"{')' if self.high_open else ']'}")
        if self.low is not None:
            return f"{what} {'>' if self.low_open else '>='} {self.low:g}"
        if self.high is not None:
            return f"{what} {'<' if self.high_open else '<='} {self.high:g}"
        return what


@dataclass(frozen=True)
class OneOf:
    """One of the listed values."""

    options: tuple

    def __init__(self, *options: Any):
        object.__setattr__(self, "options", options)

    def holds(self, value: Any) -> bool:
        return value in self.options

    def __str__(self) -> str:
        return "one of " + ", ".join(map(repr, self.options))


class Settings:
    """Base of the settings dataclasses: checks every field named in ``constraints`` on creation.

    ``legacy`` gives, for a setting added after artefacts were first saved, the value those older
    artefacts were made with (which need not be its default): a saved file without the setting
    is read, and compared, with that value.
    """

    constraints: ClassVar[dict[str, Interval | OneOf]] = {}
    legacy: ClassVar[dict[str, Any]] = {}

    def __post_init__(self) -> None:
        for name, constraint in self.constraints.items():
            value = getattr(self, name)
            if not constraint.holds(value):
                raise SettingsError(f"{name.replace('_', ' ')} must be {constraint}, got {value!r}")


def to_dict(settings: Any) -> dict[str, Any]:
    """The settings as plain JSON-able values (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(settings)))


def fingerprint(settings: Any) -> str:
    """A short stable hash of the settings."""
    text = json.dumps(to_dict(settings), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def save_settings(settings: Any, path: Path) -> None:
    write_json(path, {"kind": type(settings).__name__, "agf_version": __version__, "settings": to_dict(settings)})


def load_settings(cls: type[T], path: Path) -> T:
    """Read settings saved by :func:`save_settings` back into their dataclass."""
    payload = json.loads(Path(path).read_text())
    if payload.get("kind") != cls.__name__:
        raise SettingsMismatch(f"{path} holds {payload.get('kind')} settings, expected {cls.__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = dict(getattr(cls, "legacy", {}))
    for name, value in payload["settings"].items():
        if name not in fields:
            raise SettingsMismatch(f"{path}: unknown setting {name!r} (made by another agf version?)")
        values[name] = _from_json(value)
    return cls(**values)


def _from_json(value: Any) -> Any:
    """JSON lists back to tuples, the form frozen settings hold them in."""
    if isinstance(value, list):
        return tuple(_from_json(v) for v in value)
    return value


def settings_diff(saved: dict[str, Any], wanted: Any) -> str:
    """``'name: saved x, asked y, ...'`` for every setting that differs ('' when none does)."""
    asked = to_dict(wanted)
    saved = {**getattr(type(wanted), "legacy", {}), **saved}
    names = sorted(k for k in set(saved) | set(asked) if saved.get(k) != asked.get(k))
    return ", ".join(f"{k}: saved {saved.get(k)!r}, asked {asked.get(k)!r}" for k in names)


def ensure_settings(settings: Any, path: Path) -> None:
    """Save ``settings`` at ``path``, or check they equal the ones already saved there.

    Raises:
        SettingsMismatch: naming every setting that differs, when ``path`` holds other settings.
    """
    path = Path(path)
    if not path.exists():
        save_settings(settings, path)
        return
    diff = settings_diff(json.loads(path.read_text()).get("settings", {}), settings)
    if diff:
        raise SettingsMismatch(f"{path.parent} was made with other settings ({diff}); "
                               "use another directory or remove it to rebuild")


def replace_settings(settings: Any, path: Path) -> str:
    """Save ``settings`` at ``path`` over any saved there; returns how the saved ones differed ('' if not at all).

    For artefacts that are redone, not refused, when asked for with other settings (the grid's).
    """
    path = Path(path)
    diff = settings_diff(json.loads(path.read_text()).get("settings", {}), settings) if path.exists() else ""
    if diff or not path.exists():
        save_settings(settings, path)
    return diff
