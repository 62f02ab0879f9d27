"""Robust to level: per-segment level normalisation against gain augmentation, on the validation split.

Trains the genre STN of a prepared work directory three ways, for each seed:

  absolute   the paper's input: absolute dB, standardised per mel bin (agf's `level='absolute'`)
  augmented  absolute dB, each training crop shifted by a random gain, uniform in +-12 dB
  segment    each segment centred on its mean dB before the standardisation (`level='segment'`)

and scores each network alone (softmax of its genre head, averaged over a track's 1-s segments,
hop 43) on the validation tracks at 0 dB, then at -6 and -12 dB. A gain is a constant added to
every dB value of the log-mel (tests/test_gain.py checks this on real audio), so the quieter
copies are the stored log-mels shifted. Reported: validation log loss and accuracy at 0 dB, and
how far the track probabilities move at -6 / -12 dB (largest change of any genre's probability,
mean over tracks; share of tracks whose top genre changes).

    python bench/bench_gain.py --workdir W [--epochs 30] [--seeds 0 1 2] [--variants absolute segment]

W is a work directory made by `agf prepare` (e.g. on ../shared/data/gtzan3/tracks.csv).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from agf.data.tables import genre_classes, load_tracks, open_store
from agf.models.input import network_input
from agf.training import loader as loader_module
from agf.training.runs import load_run, train
from agf.training.settings import train_settings_for

VARIANTS = ("absolute", "augmented", "segment")
GAIN_RANGE_DB = 12.0
TEST_GAINS_DB = (0.0, -6.0, -12.0)


def augmented_batches(original):
    """``BatchLoader.batches`` with every training crop shifted by a random gain (in standardised units)."""

    def batches(self, steps):
        scale = (1.0 / self.std).view(1, 1, -1, 1)  # a dB offset, standardised per mel bin (B, C, mels, frames)
        for batch in original(self, steps):
            gain = (torch.rand(batch.x.shape[0], 1, 1, 1, device=batch.x.device) * 2 - 1) * GAIN_RANGE_DB
            yield loader_module.Batch(batch.x + gain * scale, batch.targets)

    return batches


def train_variant(source: Path, variant: str, seed: int, epochs: int, scratch: Path) -> Path:
    """A copy of ``source`` (its store linked, not copied) with the genre STN of ``variant`` trained in it."""
    work = scratch / f"{variant}-{seed}"
    work.mkdir()
    for name in ("dataset.json", "tracks.csv"):
        shutil.copy(source / name, work / name)
    os.symlink((source / "store").resolve(), work / "store")
    level = "segment" if variant == "segment" else "absolute"
    settings = dataclasses.replace(train_settings_for("stn", "g", epochs=epochs, seed=seed), level=level)
    original = loader_module.BatchLoader.batches
    if variant == "augmented":
        loader_module.BatchLoader.batches = augmented_batches(original)
    try:
        return train(work, tasks="g", arch="stn", settings=settings, device="cpu", progress=False)
    finally:
        loader_module.BatchLoader.batches = original


@torch.no_grad()
def track_probabilities(run_dir: Path, store, track_ids: list[str], gain_db: float) -> np.ndarray:
    run = load_run(run_dir)
    net = run.network("g")
    mean, std = torch.from_numpy(run.mean), torch.from_numpy(run.std)
    frames = store.settings.segment_frames
    out = []
    for track_id in track_ids:
        mel = torch.from_numpy(store.track(track_id).astype(np.float32)) + gain_db
        n = mel.shape[0] // frames
        segments = mel[: n * frames].reshape(n, frames, -1)
        x = network_input(segments, mean, std, level=run.level)
        out.append(torch.softmax(net(x), dim=1).mean(0).numpy())
    return np.stack(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tracks = load_tracks(args.workdir)
    store = open_store(args.workdir)
    genres = genre_classes(tracks)
    valid = tracks[tracks["split"] == "valid"]
    labels = valid["genre"].map({g: i for i, g in enumerate(genres)}).to_numpy()
    print(f"{args.workdir}: {len(tracks) - len(valid)} training, {len(valid)} validation tracks, "
          f"{len(genres)} genres; STN g, {args.epochs} epochs, seeds {args.seeds}, {args.threads} threads")
    print(f"{'variant':<10} {'seed':>4} {'log loss':>9} {'accuracy':>9} {'|dp| -6dB':>10} {'|dp| -12dB':>11} "
          f"{'top changes -12dB':>18} {'train s':>8}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-gain-") as scratch:
        for seed in args.seeds:
            for variant in args.variants:
                start = time.perf_counter()
                run_dir = train_variant(args.workdir, variant, seed, args.epochs, Path(scratch))
                seconds = time.perf_counter() - start
                probs = {g: track_probabilities(run_dir, store, valid["track_id"].tolist(), g) for g in TEST_GAINS_DB}
                p0 = probs[0.0]
                log_loss = float(-np.log(np.clip(p0[np.arange(len(labels)), labels], 1e-15, 1)).mean())
                accuracy = float((p0.argmax(1) == labels).mean())
                moved = {g: float(np.abs(probs[g] - p0).max(1).mean()) for g in TEST_GAINS_DB[1:]}
                flips = float((probs[-12.0].argmax(1) != p0.argmax(1)).mean())
                rows.append((variant, log_loss, accuracy, moved[-6.0], moved[-12.0], flips))
                print(f"{variant:<10} {seed:>4} {log_loss:>9.3f} {accuracy:>9.3f} {moved[-6.0]:>10.3f} "
                      f"{moved[-12.0]:>11.3f} {flips:>18.3f} {seconds:>8.0f}", flush=True)
    print("\nmean over seeds")
    for variant in args.variants:
        values = np.array([r[1:] for r in rows if r[0] == variant])
        mean = values.mean(0)
        print(f"{variant:<10} {'':>4} {mean[0]:>9.3f} {mean[1]:>9.3f} {mean[2]:>10.3f} {mean[3]:>11.3f} "
              f"{mean[4]:>18.3f}")


if __name__ == "__main__":
    main()
