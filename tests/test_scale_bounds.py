"""Memory bounds that a run on FMA-full (106,574 tracks) needs: stages stream over the tracks instead of
holding all of them (bench/bench_scale.py measures the growth; docs/results/scale-bench.md)."""

from __future__ import annotations

import tracemalloc

from agf.audio.mel import FrontEndSettings
from agf.data.prepare import prepare
from agf.datasets.synthetic import SyntheticSettings, generate_dataset


def test_prepare_with_workers_does_not_hold_every_decoded_track(tmp_path):
    """The parent of the decoding processes stores each track's log-mel as it arrives and lets it go: its
    peak allocation stays far below the sum of the tracks' log-mels (it held all of them)."""
    settings = SyntheticSettings(n_tracks=40, n_genres=4, duration_s=8.0)
    manifest = generate_dataset(settings, tmp_path / "source", jobs=2, progress=False)
    front_end = FrontEndSettings()
    mel_bytes = (settings.n_samples // front_end.hop_length + 1) * front_end.n_mels * 4  # float32, as decoded
    tracemalloc.start()
    try:
        summary = prepare(manifest, tmp_path / "w", jobs=2, progress=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert summary.n_new == settings.n_tracks
    assert peak < settings.n_tracks * mel_bytes / 4, f"peak {peak / 2**20:.1f} MB for {settings.n_tracks} tracks"
