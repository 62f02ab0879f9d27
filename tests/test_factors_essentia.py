"""Essentia descriptors: flattening, bad files, the resumable cache, column selection, normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from agf.factors.descriptors import (
    descriptor_matrix,
    fit_quantile_normaliser,
    normalise,
    usable_columns,
)
from agf.factors.essentia_features import (
    DescriptorCache,
    extract,
    extract_all,
    flatten_pool,
)


@pytest.fixture(scope="module")
def short_clips(shared_data):
    return sorted((shared_data / "gtzan10_excerpts/audio").glob("*.wav"))[:2]


def test_flattened_columns_keep_essentias_names_and_values(short_clips):
    import essentia.standard as es

    pool, _ = es.MusicExtractor()(str(short_clips[0]))
    flat = flatten_pool(pool)
    assert flat["lowlevel.spectral_centroid.mean"] == pytest.approx(pool["lowlevel.spectral_centroid.mean"])
    assert flat["tonal.hpcp.mean.3"] == pytest.approx(float(pool["tonal.hpcp.mean"][3]))
    assert flat["lowlevel.mfcc.cov.2.5"] == pytest.approx(float(pool["lowlevel.mfcc.cov"][2, 5]))
    assert not any(k.startswith("metadata.") or k.startswith("rhythm.beats_position") for k in flat)
    assert "tonal.key_edma.key" not in flat  # a string
    assert all(isinstance(v, float) for v in flat.values())
    # the full default statistics: thousands of numbers per track
    assert len(flat) > 4000


def test_bad_files_give_an_error_message_not_an_exception(shared_data, tmp_path):
    fake = tmp_path / "notes.wav"
    fake.write_text("this is a text file, not audio\n")
    for path in (shared_data / "gtzan3/audio/jazz.00054.wav", fake):
        descriptors, error = extract(path)
        assert descriptors is None and error.startswith("essentia:")


def test_parallel_extraction_records_failures_and_resumes(short_clips, tmp_path, monkeypatch):
    fake = tmp_path / "broken.wav"
    fake.write_text("not audio")
    tracks = [("good/1", str(short_clips[0])), ("bad", str(fake)), ("good 2", str(short_clips[1]))]
    cache = DescriptorCache(tmp_path / "cache")
    extract_all(tracks, cache, jobs=2, progress=False)
    assert cache.get("good/1")[1] is None and len(cache.get("good/1")[0]) > 4000
    assert cache.get("bad")[0] is None and "essentia" in cache.get("bad")[1]
    # a rerun finds every track cached and extracts nothing
    import agf.factors.essentia_features as ef

    monkeypatch.setattr(ef, "_extract_job", lambda *a: pytest.fail("re-extracted a cached track"))
    extract_all(tracks, DescriptorCache(tmp_path / "cache"), jobs=1, progress=False)


def test_a_track_whose_audio_was_replaced_is_extracted_again(short_clips, tmp_path, monkeypatch):
    """The cache is keyed by the track and the audio it was made from (the store's signature of
    the file): a replaced file must not keep its old descriptors, an unchanged one is not redone."""
    cache = DescriptorCache(tmp_path / "cache")
    extract_all([("t", str(short_clips[0]))], cache, sources={"t": "old-signature"}, progress=False)
    first, _ = cache.get("t")
    assert cache.has("t", "old-signature")
    extract_all([("t", str(short_clips[1]))], cache, sources={"t": "new-signature"}, progress=False)
    second, _ = cache.get("t")
    assert cache.has("t", "new-signature") and not cache.has("t", "old-signature")
    assert second == extract(short_clips[1])[0] and second != first
    # a failure is cached for its audio only: the track's next file is tried
    broken = tmp_path / "broken.wav"
    broken.write_text("not audio")
    extract_all([("u", str(broken))], cache, sources={"u": "broken"}, progress=False)
    assert cache.get("u")[0] is None
    extract_all([("u", str(short_clips[0]))], cache, sources={"u": "mended"}, progress=False)
    assert cache.get("u") == (first, None)
    # and a track whose new file Essentia fails on loses its old descriptors
    extract_all([("u", str(broken))], cache, sources={"u": "broken again"}, progress=False)
    assert cache.get("u")[0] is None and "essentia" in cache.get("u")[1]
    # a caller that does not know the store's signatures keeps what is cached: no re-extraction
    import agf.factors.essentia_features as ef

    monkeypatch.setattr(ef, "_extract_job", lambda *a: pytest.fail("re-extracted a cached track"))
    extract_all([("t", str(short_clips[1])), ("u", str(short_clips[0]))], cache, progress=False)
    assert cache.get("t") == (second, None)


def test_non_finite_missing_and_constant_columns_are_dropped():
    rows = [{"a": 1.0, "b": np.nan, "c": 5.0, "d": 0.0, "e": 1.0},
            {"a": 2.0, "b": 1.0, "c": 5.0, "d": np.inf, "e": 2.0},
            {"a": 3.0, "b": 2.0, "c": 5.0, "d": 1.0}]  # 'e' missing on the third track
    matrix, columns = descriptor_matrix(rows)
    assert columns == ["a", "b", "c", "d", "e"] and np.isnan(matrix[2, 4])
    assert usable_columns(matrix).tolist() == [True, False, False, False, False]


def test_quantile_normalisation_maps_training_columns_to_a_normal():
    from scipy.stats import norm

    rng = np.random.default_rng(0)
    train = np.column_stack([rng.exponential(size=400), rng.uniform(-5, 90, size=400)])
    transformer = fit_quantile_normaliser(train, seed=0)
    out = normalise(transformer, train)
    assert out.dtype == np.float32
    # the empirical quantiles of the output are the standard normal's (independent of sklearn)
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        np.testing.assert_allclose(np.quantile(out, q, axis=0), norm.ppf(q), atol=0.05)
    # a held-out track with a NaN gets the median (0) in that column
    held = normalise(transformer, np.array([[np.nan, 40.0]]))
    assert held[0, 0] == 0.0 and np.isfinite(held).all()
