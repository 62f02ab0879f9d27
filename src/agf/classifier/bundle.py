"""Model bundles: one folder with everything needed to classify new audio.

Layout::

    bundle.json                 format name and version, agf and torch versions, genre names,
                                network order (run name, task, fingerprint), front-end settings,
                                MLP sizes and settings, segment hop
    networks/<run-name>/        copies of each needed run's settings.json and weights.safetensors
    mlp.safetensors             the transfer MLP; its metadata records the genres, networks, front
                                end and hop it was trained with (format version 2), and the baseline
                                it is pooled with (version 4)

A ``+b`` bundle pools its distributions with the classical baseline's: bundle.json's
``baseline`` holds the baseline (its statistics' settings, their standardisation, the logistic
regression's weights, one row per genre) and the pooling weight (null for networks only).

Only JSON and safetensors are read when a bundle is opened: no pickle, so opening a bundle
from elsewhere never executes code. Every field of bundle.json is checked before anything is
built from it, each refused in one line naming the field: exact keys and types, the settings'
bounds, the hop within a segment, genre names unique and in agf's class order (sorted), network
folders that stay inside the bundle, the run fingerprints against the copied files (a truncated
or altered network), the networks' tasks, standardisation length and feature widths, and the
MLP's tensor shapes against the declared sizes, all before any weights are allocated. The
record in mlp.safetensors then catches what the weights' shapes cannot: genres renamed or
reordered, networks swapped, another front end or hop. A version-1 bundle (agf 0.1.0) has no
record: it gets every other check and must use agf's standard front end (the only one agf's
command line makes); re-export it for the full check.
"""

from __future__ import annotations

import json
import math
import shutil
import warnings
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from agf import __version__
from agf.atomic import write_json
from agf.audio.mel import FrontEndSettings
from agf.audio.statistics import StatisticsSettings
from agf.classifier.baseline import BaselineModel
from agf.classifier.model import (
    ModelError,
    TransferModel,
    load_mlp,
    read_json,
    save_mlp,
)
from agf.classifier.networks import RUN_FILES, NetworkRef, run_fingerprint
from agf.classifier.settings import MLPSettings
from agf.errors import SettingsError
from agf.models.dcnn import scaled_widths
from agf.settings import to_dict
from agf.tasks import TASKS
from agf.training.runs import WEIGHTS, TrainedRun, load_run

BUNDLE_FORMAT = "agf-bundle"
FORMAT_VERSION = 4
# 1: no training record in mlp.safetensors; 1, 2: no temperature (1); 1-3: no baseline (networks only)
READABLE_VERSIONS = (1, 2, 3, 4)
KEYS = ("format", "format_version", "agf_version", "torch_version", "genres", "networks", "front_end", "hop", "mlp",
        "temperature", "baseline")
SINCE = {"temperature": 3, "baseline": 4}  # the keys later versions added
TEMPERATURES = (0.05, 20.0)  # agf.evaluation.calibration's search range
NETWORK_KEYS = ("run", "task", "fingerprint")
MLP_KEYS = ("n_inputs", "hidden", "settings")
# what the MLP learned from, kept in its weights file
RECORDED = ("genres", "networks", "front_end", "hop", "baseline")
MLP = "mlp.safetensors"
FIX = "re-export the bundle with `agf transfer --bundle` or get an intact copy"


class BundleError(ModelError):
    """A bundle folder that is missing, empty, damaged or from an incompatible agf."""


@dataclass
class Bundle:
    """An opened bundle: the transfer model (networks inside the bundle) and its front end."""

    path: Path
    model: TransferModel
    front_end: FrontEndSettings


def write_bundle(model: TransferModel, path: Path | str, *, front_end: FrontEndSettings) -> Path:
    """Write ``model`` (networks, MLP, genres) and the front end as a bundle folder at ``path``.

    The folder is assembled beside ``path`` and renamed into place, so a reader never sees
    half a bundle. An existing bundle at ``path`` is replaced; any other existing folder is
    left alone and refused.
    """
    path = Path(path)
    if path.exists() and not (path.is_dir() and (not any(path.iterdir()) or (path / "bundle.json").exists())):
        raise BundleError(f"{path} exists and is not a model bundle; choose another --bundle path")
    run_dirs: dict[str, Path] = {}
    for ref in model.refs:
        name = Path(ref.run_dir).name
        if name in run_dirs and Path(run_dirs[name]).resolve() != Path(ref.run_dir).resolve():
            raise BundleError(f"two different runs are both named {name!r}; a bundle names networks by run")
        run_dirs[name] = Path(ref.run_dir)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for name, run_dir in run_dirs.items():
        (tmp / "networks" / name).mkdir(parents=True)
        for file in RUN_FILES:
            shutil.copyfile(run_dir / file, tmp / "networks" / name / file)
    description = {
        "format": BUNDLE_FORMAT,
        "format_version": FORMAT_VERSION,
        "agf_version": __version__,
        "torch_version": torch.__version__,
        "genres": list(model.genres),
        "networks": [{"run": Path(ref.run_dir).name, "task": ref.task, "fingerprint": fp}
                     for ref, fp in zip(model.refs, model.fingerprints)],
        "front_end": to_dict(front_end),
        "hop": model.hop,
        "mlp": {"n_inputs": model.mlp.n_inputs, "hidden": model.mlp.hidden, "settings": to_dict(model.settings)},
        "temperature": model.temperature,
        "baseline": ({"model": model.baseline.to_json(), "weight": model.baseline_weight} if model.baseline
                     else None),
    }
    record = json.dumps({key: description[key] for key in RECORDED}, sort_keys=True)
    save_mlp(model.mlp, tmp / MLP, metadata={"agf": record})
    write_json(tmp / "bundle.json", description)
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)
    return path


def load_bundle(path: Path | str) -> Bundle:
    """Open a bundle folder, checking its format version, every field of bundle.json and every file it lists.

    Raises:
        BundleError: naming the folder, file or field and what to do, for a missing, empty,
            damaged or altered bundle or one written by an incompatible agf.
    """
    path = Path(path)
    if not path.exists():
        raise BundleError(f"{path}: no such model bundle (make one with `agf transfer ... --bundle {path}`)")
    if not path.is_dir():
        raise BundleError(f"{path} is a file; a model bundle is a folder (made by `agf transfer --bundle`)")
    if not any(path.iterdir()):
        raise BundleError(f"{path} is an empty folder, not a model bundle (make one with `agf transfer --bundle`)")
    if not (path / "bundle.json").is_file():
        raise BundleError(f"{path} is not a model bundle: bundle.json missing")
    check = _Checker(path)
    meta = check.description()
    genres = check.genres(meta["genres"])
    front_end = check.settings(FrontEndSettings, meta["front_end"], "front_end")
    mlp_meta = check.keys(meta["mlp"], MLP_KEYS, "mlp")
    settings = check.settings(MLPSettings, mlp_meta["settings"], "mlp.settings")
    hop = check.hop(meta["hop"], front_end, settings)
    refs, feature_width = check.networks(meta["networks"], front_end)
    baseline, weight = check.baseline(meta.get("baseline"), len(genres))
    n_inputs = check.size(mlp_meta["n_inputs"], "mlp.n_inputs", feature_width, "the width of the networks' features")
    hidden = check.size(mlp_meta["hidden"], "mlp.hidden", settings.hidden, "mlp.settings.hidden")
    check.mlp_file(meta, n_inputs=n_inputs, hidden=hidden, n_genres=len(genres), front_end=front_end)
    try:
        mlp = load_mlp(path / MLP, n_inputs=n_inputs, hidden=hidden, n_genres=len(genres), what=f"bundle ({FIX})")
    except ModelError as err:
        raise BundleError(str(err)) from None
    model = TransferModel(refs=tuple(refs), fingerprints=tuple(n["fingerprint"] for n in meta["networks"]),
                          genres=genres, mlp=mlp, settings=settings, hop=hop,
                          temperature=check.temperature(meta.get("temperature", 1.0)), baseline=baseline,
                          baseline_weight=weight)
    return Bundle(path=path, model=model, front_end=front_end)


class _Checker:
    """The checks of one bundle folder, each raising a one-line :class:`BundleError` that names the field."""

    def __init__(self, path: Path):
        self.path, self.root = path, path.resolve()
        self.json = path / "bundle.json"

    def bad(self, field: str, problem: str) -> BundleError:
        return BundleError(f"{self.json}: {field} {problem}; {FIX}")

    def inside(self, file: Path, field: str) -> Path:
        """``file``, unless it (or a symlink on its way) leads outside the bundle folder."""
        if not file.resolve().is_relative_to(self.root):
            raise self.bad(field, f"leads outside the bundle ({file} -> {file.resolve()})")
        return file

    def description(self) -> dict:
        """bundle.json as a dict with exactly the expected keys, of a format version this agf reads."""
        try:
            meta = read_json(self.inside(self.json, "bundle.json"), f"model bundle ({FIX})")
        except ModelError as err:
            raise BundleError(str(err)) from None
        if meta.get("format") != BUNDLE_FORMAT:
            raise BundleError(f"{self.json} does not describe an agf model bundle")
        version = meta.get("format_version")
        if version not in READABLE_VERSIONS or isinstance(version, bool):
            hint = ("upgrade agf to read it" if isinstance(version, int) and version > FORMAT_VERSION
                    else "re-export it with this agf (`agf transfer --bundle`)")
            raise BundleError(f"{self.path}: bundle format version {version!r} (written by agf "
                              f"{meta.get('agf_version', '?')}); this agf {__version__} reads versions "
                              f"{', '.join(map(str, READABLE_VERSIONS))}: {hint}")
        self.keys(meta, tuple(k for k in KEYS if version >= SINCE.get(k, 1)), "bundle.json")
        for key in ("agf_version", "torch_version"):
            if not isinstance(meta[key], str):
                raise self.bad(key, f"must be a version string, got {meta[key]!r}")
        return meta

    def keys(self, value: Any, keys: tuple[str, ...], field: str) -> dict:
        if not isinstance(value, dict):
            raise self.bad(field, f"must be a JSON object, got {type(value).__name__}")
        if missing := [k for k in keys if k not in value]:
            raise self.bad(field, f"lacks {', '.join(map(repr, missing))}")
        if extra := sorted(set(value) - set(keys)):
            raise self.bad(field, f"has unknown keys {', '.join(map(repr, extra))} (another agf's bundle?)")
        return value

    def settings(self, cls: type, value: Any, field: str):
        """Settings of ``cls`` from exactly its fields, within its declared bounds."""
        self.keys(value, tuple(f.name for f in fields(cls)), field)
        try:
            return cls(**value)
        except SettingsError as err:
            raise self.bad(field, f"out of bounds ({err})") from None

    def genres(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not value or not all(isinstance(g, str) and g for g in value):
            raise self.bad("genres", f"must be a list of genre names, got {value!r}"[:200])
        if repeated := sorted({g for g in value if value.count(g) > 1}):
            raise self.bad("genres", f"name {', '.join(map(repr, repeated))} more than once")
        if value != sorted(value):
            # the MLP's outputs are the genres sorted by name (agf.data.tables.genre_classes): any
            # other order would put the wrong names on its predictions
            raise self.bad("genres", "are not in agf's class order (sorted by name), so predictions would "
                                     "carry the wrong names")
        return tuple(value)

    def hop(self, value: Any, front_end: FrontEndSettings, settings: MLPSettings) -> int:
        frames = front_end.segment_frames
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= frames:
            raise self.bad("hop", f"must be a whole number of frames from 1 to {frames} (the segment length), "
                                  f"got {value!r}")
        if value != settings.hop:
            raise self.bad("hop", f"is {value}, but the MLP was trained on segments {settings.hop} frames apart "
                                  "(mlp.settings.hop)")
        return value

    def temperature(self, value: Any) -> float:
        low, high = TEMPERATURES
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise self.bad("temperature", f"must be a number from {low} to {high}, got {value!r}")
        return float(value)

    def numbers(self, value: Any, field: str, length: int) -> tuple[float, ...]:
        """A list of ``length`` finite numbers."""
        if not (isinstance(value, list) and len(value) == length
                and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in value)):
            raise self.bad(field, f"must be a list of {length} finite numbers")
        return tuple(map(float, value))

    def baseline(self, value: Any, n_genres: int) -> tuple[BaselineModel | None, float]:
        """The classical baseline the MLP's distributions are pooled with, and its weight in [0, 1]; (None, 0)
        for networks only. The baseline: settings within bounds, a standardisation with positive scales, and
        finite weights of one row per genre."""
        if value is None:
            return None, 0.0
        self.keys(value, ("model", "weight"), "baseline")
        weight = value["weight"]
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 1:
            raise self.bad("baseline.weight", f"must be a number from 0 to 1, got {weight!r}")
        model = self.keys(value["model"], ("statistics", "mean", "scale", "coef", "intercept"), "baseline.model")
        settings = self.settings(StatisticsSettings, model["statistics"], "baseline.model.statistics")
        mean = self.numbers(model["mean"], "baseline.model.mean", settings.width)
        scale = self.numbers(model["scale"], "baseline.model.scale", settings.width)
        if min(scale) <= 0:
            raise self.bad("baseline.model.scale", "must be positive (it divides)")
        if not isinstance(model["coef"], list) or len(model["coef"]) != n_genres:
            raise self.bad("baseline.model.coef", f"must be a list of one row per genre ({n_genres})")
        coef = tuple(self.numbers(row, f"baseline.model.coef[{i}]", settings.width)
                     for i, row in enumerate(model["coef"]))
        intercept = self.numbers(model["intercept"], "baseline.model.intercept", n_genres)
        return BaselineModel(settings, mean, scale, coef, intercept), float(weight)

    def size(self, value: Any, field: str, expected: int, source: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.bad(field, f"must be a whole number, got {value!r}")
        if value != expected:
            raise self.bad(field, f"is {value}, not {expected} ({source})")
        return value

    def networks(self, value: Any, front_end: FrontEndSettings) -> tuple[list[NetworkRef], int]:
        """The networks' references and their total feature width, every file checked and loaded on the
        meta device (all keys and shapes compared with the run's declared architecture, nothing allocated)."""
        if not isinstance(value, list) or not value:
            raise self.bad("networks", f"must be a non-empty list, got {value!r}"[:200])
        refs, width, runs = [], 0, {}
        for i, net in enumerate(value):
            field = f"networks[{i}]"
            self.keys(net, NETWORK_KEYS, field)
            name, task = net["run"], net["task"]
            if not (isinstance(name, str) and name not in ("", ".", "..") and Path(name).name == name
                    and "\\" not in name and "\0" not in name):
                raise self.bad(f"{field}.run", f"must be the name of a folder in networks/, got {name!r}")
            if task not in TASKS:
                raise self.bad(f"{field}.task", f"must be one of {', '.join(TASKS)}, got {task!r}")
            run_dir = self.path / "networks" / name
            for file in RUN_FILES:
                if not self.inside(run_dir / file, f"{field}.run").is_file():
                    raise BundleError(f"{self.path}: network file networks/{name}/{file} missing; {FIX}")
            if not isinstance(net["fingerprint"], str) or run_fingerprint(run_dir) != net["fingerprint"]:
                raise BundleError(f"{self.path}: network files in networks/{name} are damaged (fingerprint "
                                  f"differs from bundle.json); {FIX}")
            if name not in runs:
                runs[name] = self._run_shapes(run_dir)
            run = runs[name]
            if task not in run.tasks:
                raise self.bad(f"{field}.task", f"is {task!r}, but networks/{name} has networks for "
                                                f"{', '.join(run.tasks)} only")
            if len(run.mean) != front_end.n_mels or len(run.std) != front_end.n_mels:
                raise self.bad("front_end.n_mels", f"is {front_end.n_mels}, but networks/{name} was trained on "
                                                   f"{len(run.mean)} mel bins")
            refs.append(NetworkRef(run_dir, task))
            width += scaled_widths(run.width).dense
        return refs, width

    def _run_shapes(self, run_dir: Path) -> TrainedRun:
        """The run loaded onto the meta device: every key and shape checked as the real load will check them."""
        try:
            with torch.device("meta"), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "copying into a meta parameter is a no-op": the point here
                return load_run(run_dir, device="meta")
        except Exception as err:  # the runs' own loader, on untrusted files: one line naming the file
            problem = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise BundleError(f"{self.path}: networks/{run_dir.name}/{WEIGHTS} does not hold the networks its "
                              f"settings declare ({type(err).__name__}: {problem}); {FIX}") from None

    def mlp_file(self, meta: dict, *, n_inputs: int, hidden: int, n_genres: int,
                 front_end: FrontEndSettings) -> None:
        """The MLP's tensor shapes (read from the file's header) and its training record against bundle.json."""
        file = self.inside(self.path / MLP, MLP)
        if not file.is_file():
            raise BundleError(f"{self.path}: {MLP} missing: not a complete bundle; {FIX}")
        try:
            with safe_open(file, framework="pt", device="cpu") as f:
                shapes = {key: list(f.get_slice(key).get_shape()) for key in f.keys()}
                record_text = (f.metadata() or {}).get("agf")
            record = None if record_text is None else json.loads(record_text)
        except Exception as err:  # safetensors reports a bad header in several exception types
            raise BundleError(f"{file}: damaged ({type(err).__name__}: {err}); {FIX}") from None
        if shapes.get("layers.4.weight", [None])[0] != n_genres:
            raise self.bad("genres", f"name {n_genres} genres, but the MLP in {MLP} has "
                                     f"{shapes.get('layers.4.weight', ['no'])[0]} outputs")
        expected = {"layers.1.weight": [hidden, n_inputs], "layers.1.bias": [hidden],
                    "layers.4.weight": [n_genres, hidden], "layers.4.bias": [n_genres]}
        if shapes != expected:
            raise BundleError(f"{file}: tensors {shapes} do not fit the MLP bundle.json describes "
                              f"({n_inputs} inputs, {hidden} hidden units, {n_genres} genres); {FIX}")
        if record is None:
            if meta["format_version"] >= 2:
                raise BundleError(f"{file}: no record of what the MLP was trained with (format version "
                                  f"{meta['format_version']} has one); {FIX}")
            if front_end != FrontEndSettings():
                raise self.bad("front_end", "differs from agf's standard front end, and this version-1 bundle "
                                            "records no other")
            return
        if not isinstance(record, dict):
            raise BundleError(f"{file}: damaged training record; {FIX}")
        for key in (k for k in RECORDED if meta["format_version"] >= SINCE.get(k, 1)):
            trained, said = record.get(key), meta[key]
            if isinstance(trained, dict) and isinstance(said, dict):  # the front end: name the setting
                for name in sorted(set(trained) | set(said)):
                    if trained.get(name) != said.get(name):
                        raise self.bad(f"{key}.{name}", f"is {said.get(name)!r}, but the MLP in {MLP} was "
                                                        f"trained with {trained.get(name)!r}")
            if trained != said:
                raise self.bad(key, f"differs from what the MLP in {MLP} was trained with "
                                    f"({json.dumps(trained)[:160]})")


def is_bundle(path: Path | str) -> bool:
    return (Path(path) / "bundle.json").is_file()

