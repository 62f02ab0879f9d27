"""Typed settings, saved as JSON next to the artefacts they produced.

Every stage of the pipeline has a frozen dataclass of settings. The stage writes it beside its
output (``settings.json``); a later run compares its own settings with the saved ones and
refuses to mix artefacts made with different settings instead of silently reusing them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any, TypeVar

from agf import __version__
from agf.errors import AgfError

T = TypeVar("T")


class SettingsMismatch(AgfError):
    """Artefacts on disk were made with other settings than the ones asked for."""


def to_dict(settings: Any) -> dict[str, Any]:
    """The settings as plain JSON-able values (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(settings)))


def fingerprint(settings: Any) -> str:
    """A short stable hash of the settings, used to name cached artefacts."""
    text = json.dumps(to_dict(settings), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON through a temporary file and a rename, so a kill never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def save_settings(settings: Any, path: Path) -> None:
    write_json_atomic(
        path,
        {"kind": type(settings).__name__, "agf_version": __version__, "settings": to_dict(settings)},
    )


def load_settings(cls: type[T], path: Path) -> T:
    """Read settings saved by :func:`save_settings` back into their dataclass."""
    payload = json.loads(Path(path).read_text())
    if payload.get("kind") != cls.__name__:
        raise SettingsMismatch(f"{path} holds {payload.get('kind')} settings, expected {cls.__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for name, value in payload["settings"].items():
        if name not in fields:
            raise SettingsMismatch(f"{path}: unknown setting {name!r} (made by another agf version?)")
        values[name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def ensure_settings(settings: Any, path: Path) -> None:
    """Save ``settings`` at ``path``, or check they equal the ones already saved there.

    Raises:
        SettingsMismatch: naming every setting that differs, when ``path`` holds other settings.
    """
    path = Path(path)
    if not path.exists():
        save_settings(settings, path)
        return
    saved = json.loads(path.read_text()).get("settings", {})
    wanted = to_dict(settings)
    diff = sorted(k for k in set(saved) | set(wanted) if saved.get(k) != wanted.get(k))
    if diff:
        details = ", ".join(f"{k}: saved {saved.get(k)!r}, asked {wanted.get(k)!r}" for k in diff)
        raise SettingsMismatch(
            f"{path.parent} was made with other settings ({details}); "
            "use another directory or remove it to rebuild"
        )
