"""MFCC / dMFCC frame features against librosa and hand-computed differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agf.audio.frontend import file_log_mel
from agf.audio.mel import LogMel
from agf.factors.mfcc import (
    delta_mfcc,
    frame_features,
    mfcc_from_log_mel,
    n_feature_frames,
)


@pytest.fixture(params=["real", "synthetic"])
def stored_log_mel(request, synthetic_clip) -> np.ndarray:
    """The float16 dB frames the store keeps, of a real 30-s clip or of 8 s of synthesised jazz."""
    if request.param == "synthetic":
        mel = LogMel()(torch.from_numpy(synthetic_clip(3, seconds=8.0))[None])[0].numpy()
    else:
        mel = file_log_mel(request.getfixturevalue("shared_data") / "gtzan3/audio/rock.00003.mp3")
    return mel.astype(np.float16)


def test_mfcc_matches_librosa_on_a_stored_log_mel(stored_log_mel):
    """Our MFCCs of stored frames equal librosa.feature.mfcc of the same frames."""
    librosa = pytest.importorskip("librosa")
    mel = stored_log_mel  # exactly what the store holds
    ours = mfcc_from_log_mel(mel, n_mfcc=25)
    reference = librosa.feature.mfcc(S=mel.astype(np.float32).T, n_mfcc=25).T
    assert ours.shape == (mel.shape[0], 25) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-3)


def test_mfcc_is_the_orthonormal_dct_written_out():
    rng = np.random.default_rng(0)
    mel = rng.normal(size=(7, 16)).astype(np.float32)
    n = np.arange(16)
    basis = np.cos(np.pi / 16 * (n[None, :] + 0.5) * np.arange(4)[:, None]) * np.sqrt(2 / 16)
    basis[0] /= np.sqrt(2)
    np.testing.assert_allclose(mfcc_from_log_mel(mel, n_mfcc=4), mel @ basis.T, rtol=1e-5, atol=1e-5)


def test_dmfcc_is_the_frame_difference_within_one_track():
    mfcc = np.array([[1.0, 2.0], [4.0, 0.0], [4.5, 1.0]], np.float32)
    np.testing.assert_array_equal(delta_mfcc(mfcc), [[3.0, -2.0], [0.5, 1.0]])
    mel = np.random.default_rng(1).normal(size=(50, 32)).astype(np.float32)
    d = frame_features(mel, "d", n_mfcc=10)
    assert d.shape == (49, 10) == (n_feature_frames(50, "d"), 10)
    np.testing.assert_allclose(d, np.diff(frame_features(mel, "m", n_mfcc=10), axis=0))


def test_bad_shapes_and_tasks_are_refused():
    with pytest.raises(ValueError, match="n_mfcc"):
        mfcc_from_log_mel(np.zeros((5, 8)), n_mfcc=25)
    with pytest.raises(ValueError, match="frame features"):
        frame_features(np.zeros((5, 32)), "e")
