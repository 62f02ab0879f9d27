"""The one map of a work directory: every path under it comes from :class:`Workdir`.

    W/.lock                            held by the agf command that writes the work directory
    W/dataset.json                     DatasetSettings: the source, split and seed (agf prepare)
    W/tracks.csv                       one row per usable track: track_id, genre, artist, split,
                                       n_frames, padded, subgenres, path
    W/source.json                      size and modification time of the source's own tables (the
                                       manifest, FMA's tracks.csv) when agf prepare read them
    W/errors.csv                       track_id, path, error: every track that could not be used
    W/source/                          the generated audio of a synthetic source (tracks.csv, audio/)
    W/store/                           the log-mel store: settings.json, mel.f16, index.csv
    W/factors/<task>/                  one AG task's targets: settings.json, centroids.npy or
                                       vocabulary.txt, lda.npz, artist_groups.csv, targets.npz,
                                       report.md/.png, done.json (written last)
    W/factors/essentia_cache/          Essentia descriptors per track (task e), resumable
    W/statistics/<settings digest>.csv the classical baseline's track statistics (MFCC and spectral
                                       contrast), one row per track: the baseline's and the +b cases' input
    W/runs/<arch>-<tasks>/             a trained network: settings.json, inputs.json (what it
                                       learned from), weights.safetensors, log.csv, and
                                       checkpoint.pt while it trains
    W/runs/.<arch>-<tasks>.lock        held while a process trains that run
    W/features/hop<H>/<run>-<task>/    one network's segment features: features.npy,
                                       segments.csv, meta.json (written last)
    W/features/hop<H>/.<run>-<task>.lock   held while a process embeds that network
    W/transfer/<name>/                 a transfer model: settings.json, model.json, mlp.safetensors,
                                       and its validation scores (val_probs.csv, metrics.json,
                                       per_class.csv, confusion.csv, confusion.png)
    W/grid/<preset>/settings.json      the grid's settings (agf experiment)
    W/grid/<preset>/cases/<case>.json  one scored case of the grid (and baseline.json), with
                                       the digests of what it was computed from
    W/grid/<preset>/cases/.lock        held while a process trains and scores the grid's cases
    W/results.csv                      one row per case of the last grid, with bootstrap intervals
    W/per_track.csv                    each case's scored tracks: fold, true and predicted class, p(truth)
    W/comparisons.csv                  the paper's questions as paired comparisons of cases
    W/report.md, report.html, figure3.png, calibration.png, confusion.png   the grid's report
    W/timings.csv                      wall and CPU seconds of each stage of the last grid run
    W/bundle/                          the case of the grid chosen on validation, for agf predict
    W/folds/<k>/                       with agf experiment --folds K: fold k's own work directory, its
                                       store, source, factors/essentia_cache and statistics links to W's
    W/seeds/<j>/                       with agf experiment --seeds S: the own work directory of training
                                       seed j (1 .. S-1; seed 0 trains in W), the same split trained with
                                       the preset's seed + j, its store, source, factors/essentia_cache
                                       and statistics links to W's; with --folds K, each fold's in W/folds/<k>/seeds/<j>

Nothing here reads or writes a file: the stages do, through these paths.
"""

from __future__ import annotations

from pathlib import Path

# the first component of every path above: what a work directory may write over
OWNED = (".lock", "dataset.json", "tracks.csv", "source.json", "errors.csv", "source", "store", "factors",
         "runs", "features", "transfer", "grid", "results.csv", "per_track.csv", "comparisons.csv", "report.md",
         "report.html", "figure3.png", "calibration.png", "confusion.png", "timings.csv", "bundle", "folds",
         "statistics", "seeds")


class Workdir:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"Workdir({str(self.root)!r})"

    def owns(self, path: Path | str) -> bool:
        """Whether ``path`` is, or lies inside, a file or folder this work directory writes."""
        path, root = Path(path).resolve(), self.root.resolve()
        return path.is_relative_to(root) and path != root and path.relative_to(root).parts[0] in OWNED

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    # -- agf prepare --------------------------------------------------------------------------
    @property
    def dataset_json(self) -> Path:
        return self.root / "dataset.json"

    @property
    def tracks_csv(self) -> Path:
        return self.root / "tracks.csv"

    @property
    def source_json(self) -> Path:
        return self.root / "source.json"

    @property
    def errors_csv(self) -> Path:
        return self.root / "errors.csv"

    @property
    def source_dir(self) -> Path:
        return self.root / "source"

    @property
    def store_dir(self) -> Path:
        return self.root / "store"

    # -- agf factors --------------------------------------------------------------------------
    def factors_dir(self, task: str) -> Path:
        return self.root / "factors" / task

    @property
    def essentia_cache_dir(self) -> Path:
        return self.root / "factors" / "essentia_cache"

    # -- agf train ----------------------------------------------------------------------------
    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def run_dir(self, name: str) -> Path:
        return self.runs_dir / name

    def run_lock(self, name: str) -> Path:
        return self.runs_dir / f".{name}.lock"

    # -- agf transfer -------------------------------------------------------------------------
    def features_dir(self, hop: int, network: str) -> Path:
        return self.root / "features" / f"hop{hop}" / network

    def features_lock(self, hop: int, network: str) -> Path:
        return self.root / "features" / f"hop{hop}" / f".{network}.lock"

    def transfer_dir(self, name: str) -> Path:
        return self.root / "transfer" / name

    # -- agf experiment -----------------------------------------------------------------------
    def grid_dir(self, preset: str) -> Path:
        return self.root / "grid" / preset

    def case_json(self, preset: str, case: str) -> Path:
        return self.grid_dir(preset) / "cases" / f"{case}.json"

    def cases_lock(self, preset: str) -> Path:
        return self.grid_dir(preset) / "cases" / ".lock"

    @property
    def results_csv(self) -> Path:
        return self.root / "results.csv"

    def report(self, name: str) -> Path:
        """A file of the grid's report: ``report.md``, ``report.html``, ``figure3.png``, ``timings.csv``,
        ``comparisons.csv``, ``per_track.csv``, ``calibration.png``, ``confusion.png``."""
        return self.root / name

    @property
    def bundle_dir(self) -> Path:
        return self.root / "bundle"

    @property
    def statistics_dir(self) -> Path:
        return self.root / "statistics"

    def statistics_csv(self, digest: str) -> Path:
        """The track statistics computed with the settings of ``digest`` (agf.classifier.statistics)."""
        return self.statistics_dir / f"{digest}.csv"

    def statistics_lock(self) -> Path:
        return self.statistics_dir / ".lock"

    def fold_dir(self, fold: int) -> Path:
        """The work directory of fold ``fold`` (0-based; its folder is numbered from 1) of a K-fold grid."""
        return self.root / "folds" / str(fold + 1)

    def seed_dir(self, seed: int) -> Path:
        """The work directory of training seed ``seed`` (1 .. S-1: seed 0 trains in this one) of a grid run with
        S seeds."""
        return self.root / "seeds" / str(seed)
