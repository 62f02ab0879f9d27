"""Model bundles: one folder with everything needed to classify new audio.

Layout::

    bundle.json                 format name and version, agf and torch versions, genre names,
                                network order (run name, task, fingerprint), front-end settings,
                                MLP sizes and settings, segment hop
    networks/<run-name>/        copies of each needed run's settings.json and weights.safetensors
    mlp.safetensors             the transfer MLP

Only JSON and safetensors are read when a bundle is opened: no pickle, so opening a bundle
from elsewhere never executes code. The run fingerprints in bundle.json are checked against
the copied files, which catches a truncated or altered network.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from agf import __version__
from agf.atomic import write_json
from agf.audio.mel import FrontEndSettings
from agf.classifier.model import (
    ModelError,
    TransferModel,
    load_mlp,
    read_json,
    save_mlp,
)
from agf.classifier.networks import RUN_FILES, NetworkRef, run_fingerprint
from agf.classifier.settings import MLPSettings
from agf.settings import to_dict

BUNDLE_FORMAT = "agf-bundle"
FORMAT_VERSION = 1


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
    save_mlp(model.mlp, tmp / "mlp.safetensors")
    write_json(tmp / "bundle.json", {
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
    })
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)
    return path


def load_bundle(path: Path | str) -> Bundle:
    """Open a bundle folder, checking its format version and every file it lists.

    Raises:
        BundleError: naming the folder or file and what to do, for a missing, empty or
            damaged bundle or one written by an incompatible agf.
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
    what = "model bundle (re-export it with `agf transfer --bundle`)"
    try:
        meta = read_json(path / "bundle.json", what)
    except ModelError as err:
        raise BundleError(str(err)) from None
    if meta.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{path}/bundle.json does not describe an agf model bundle")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        hint = ("upgrade agf to read it" if isinstance(version, int) and version > FORMAT_VERSION
                else "re-export it with this agf (`agf transfer --bundle`)")
        raise BundleError(f"{path}: bundle format version {version!r} (written by agf {meta.get('agf_version', '?')}); "
                          f"this agf {__version__} reads version {FORMAT_VERSION}: {hint}")
    try:
        genres = tuple(meta["genres"])
        front_end = FrontEndSettings(**meta["front_end"])
        mlp_meta = meta["mlp"]
        settings = MLPSettings(**mlp_meta["settings"])
        refs, fingerprints = [], []
        for net in meta["networks"]:
            run_dir = path / "networks" / net["run"]
            for file in RUN_FILES:
                if not (run_dir / file).is_file():
                    raise BundleError(f"{path}: network file networks/{net['run']}/{file} missing; {what}")
            if run_fingerprint(run_dir) != net["fingerprint"]:
                raise BundleError(f"{path}: network files in networks/{net['run']} are damaged (fingerprint "
                                  f"differs from bundle.json); {what}")
            refs.append(NetworkRef(run_dir, net["task"]))
            fingerprints.append(net["fingerprint"])
        hop = int(meta["hop"])
        n_inputs, hidden = int(mlp_meta["n_inputs"]), int(mlp_meta["hidden"])
    except (KeyError, TypeError, ValueError) as err:
        raise BundleError(f"{path}/bundle.json is incomplete ({type(err).__name__}: {err}); {what}") from None
    try:
        mlp = load_mlp(path / "mlp.safetensors", n_inputs=n_inputs, hidden=hidden, n_genres=len(genres), what=what)
    except ModelError as err:
        raise BundleError(str(err)) from None
    model = TransferModel(refs=tuple(refs), fingerprints=tuple(fingerprints), genres=genres, mlp=mlp,
                          settings=settings, hop=hop)
    return Bundle(path=path, model=model, front_end=front_end)


def is_bundle(path: Path | str) -> bool:
    return (Path(path) / "bundle.json").is_file()

