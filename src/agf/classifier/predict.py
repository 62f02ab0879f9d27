"""Classify audio files with a model bundle: the top genre and the full distribution per file.

Any number of files of any common format, length, sample rate and channel count. Each file
is decoded block by block (:func:`agf.audio.stream_audio`), turned into log-mel frames per
chunk with the STFT overlap carried across blocks, cut into 1-s segments with hop 21, and run
through the networks and the MLP in batches; the file's distribution is the running mean of
its segments' distributions. Memory stays bounded by the block length, so a 3-hour file is
fine. The frames equal the whole-file computation's except that the 80-dB floor is per
chunk (``--block-seconds`` of audio) rather than per file; files up to one block long match
the training front end exactly. A clip shorter than one segment (1 s) is padded with its own
dB floor, as ``agf prepare`` does, and flagged ``padded``. A file that cannot be read gives a
:class:`Prediction` with its ``error``, and the others go on. A ``+b`` bundle pools the file's
distribution with the classical baseline's, whose statistics are computed on the whole file
decoded at 22,050 Hz (as in training): one more decode, and memory of 318 MB per hour of audio.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from agf.audio.decode import AudioError, stream_audio
from agf.audio.mel import LogMel
from agf.audio.statistics import track_statistics
from agf.audio.streaming import ChunkedLogMel, SegmentCutter
from agf.classifier.bundle import Bundle, BundleError, load_bundle
from agf.classifier.networks import Embedder, load_runs
from agf.classifier.settings import PredictSettings
from agf.device import autocast, resolve_device
from agf.evaluation.calibration import apply_temperature
from agf.evaluation.pooling import pool


@dataclass(frozen=True)
class Prediction:
    """The outcome for one file: a distribution over genres, or the error that stopped it."""

    path: str
    genre: str | None = None
    probabilities: dict[str, float] = field(default_factory=dict)
    n_segments: int = 0
    padded: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict:
        if not self.ok:
            return {"path": self.path, "error": self.error}
        return {"path": self.path, "genre": self.genre, "probabilities": self.probabilities,
                "n_segments": self.n_segments, "padded": self.padded}

    def describe(self) -> str:
        if not self.ok:
            return f"{self.path}: error: {self.error}"
        ranked = sorted(self.probabilities.items(), key=lambda kv: -kv[1])
        rest = "  ".join(f"{g} {p:.3f}" for g, p in ranked[1:])
        note = ", padded" if self.padded else ""
        return f"{self.path}: {self.genre} {ranked[0][1]:.3f}  ({rest})  [{self.n_segments} segments{note}]"


class Predictor:
    """A bundle's networks and MLP on one device, ready to classify files one after another."""

    def __init__(self, bundle: Bundle | Path | str, *, device: str = "auto",
                 settings: PredictSettings = PredictSettings()):
        self.bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
        self.device = resolve_device(device)
        self.batch_size = settings.batch_size
        self.block_seconds = settings.block_seconds
        model = self.bundle.model
        try:
            runs = load_runs(list(model.refs), device="cpu")
        except Exception as err:  # the networks' own loader: name the bundle in one line, not a traceback
            problem = (str(err).strip().splitlines() or [""])[0]
            raise BundleError(f"{self.bundle.path}: cannot load its networks ({type(err).__name__}: {problem}); "
                              "re-export the bundle with `agf transfer --bundle`") from None
        self.embedder = Embedder(runs, list(model.refs)).to(self.device).eval()
        self.mlp = model.mlp.to(self.device).eval()
        self.log_mel = LogMel(self.bundle.front_end)  # the STFT runs on CPU, streamed per block

    @property
    def genres(self) -> tuple[str, ...]:
        return self.bundle.model.genres

    @torch.inference_mode()
    def _segment_probs(self, segments: np.ndarray) -> torch.Tensor:
        """Summed softmax outputs ``(n_genres,)`` float64 of dB segments ``(n, frames, n_mels)``."""
        x = torch.from_numpy(np.ascontiguousarray(segments, dtype=np.float32))
        if self.device.type == "cuda":
            x = x.pin_memory().to(self.device, non_blocking=True)
        with autocast(self.device):
            logits = self.mlp(self.embedder(x).float())
        return torch.softmax(logits.double(), dim=1).sum(dim=0).cpu()  # float64: sums to 1 to 1e-15

    def _segments(self, path: Path, cutter: SegmentCutter) -> Iterator[np.ndarray]:
        """Batches of at most ``batch_size`` segments of the file, in order."""
        frames = ChunkedLogMel(self.log_mel)
        pending: list[np.ndarray] = []
        n_pending = 0
        sr = self.bundle.front_end.sample_rate
        for block in stream_audio(path, sr=sr, block_seconds=self.block_seconds):
            segments = cutter.push(frames.push(block))
            if len(segments):
                pending.append(segments)
                n_pending += len(segments)
            while n_pending >= self.batch_size:
                stacked = np.concatenate(pending)
                yield stacked[: self.batch_size]
                pending, n_pending = [stacked[self.batch_size:]], len(stacked) - self.batch_size
        rest = np.concatenate([*pending, cutter.push(frames.finish()), cutter.finish()])
        for lo in range(0, len(rest), self.batch_size):
            yield rest[lo: lo + self.batch_size]

    def _baseline(self, path: Path) -> np.ndarray | None:
        """A +b model's classical baseline distribution ``(1, n_genres)`` of the file, else None."""
        baseline = self.bundle.model.baseline
        return None if baseline is None else baseline.probabilities(track_statistics(path, baseline.statistics)[None])

    def predict_file(self, path: Path | str) -> Prediction:
        """Classify one file; a file that cannot be read gives a :class:`Prediction` with ``error``."""
        cutter = SegmentCutter(segment_frames=self.bundle.front_end.segment_frames, hop=self.bundle.model.hop)
        total = torch.zeros(len(self.genres), dtype=torch.float64)
        count = 0
        try:
            for batch in self._segments(Path(path), cutter):
                total += self._segment_probs(batch)
                count += len(batch)
            baseline = self._baseline(Path(path)) if count else None
        except AudioError as err:
            return Prediction(path=str(path), error=err.problem)
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception as err:  # a decoder bug on one file must not stop the others
            return Prediction(path=str(path), error=f"unexpected {type(err).__name__}: {err}")
        if count == 0:
            return Prediction(path=str(path), error="no audio frames")
        mean = (total / count).numpy()[None]
        if baseline is not None:
            mean = pool(mean, baseline, self.bundle.model.baseline_weight)
        mean = apply_temperature(mean, self.bundle.model.temperature)[0]
        probabilities = {g: float(p) for g, p in zip(self.genres, mean)}
        return Prediction(path=str(path), genre=self.genres[int(mean.argmax())], probabilities=probabilities,
                          n_segments=count, padded=cutter.padded)

    def predict(self, paths: Iterable[Path | str]) -> Iterator[Prediction]:
        for path in paths:
            yield self.predict_file(path)


def predict(bundle: Bundle | Path | str, paths: Iterable[Path | str] | Path | str, *, device: str = "auto",
            settings: PredictSettings = PredictSettings()) -> list[Prediction]:
    """Classify audio files with a bundle (a path or an opened :class:`Bundle`), e.g. in a notebook.

    >>> [p.genre for p in predict("agf-demo/bundle", ["song.mp3"])]  # doctest: +SKIP
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    return list(Predictor(bundle, device=device, settings=settings).predict(paths))
