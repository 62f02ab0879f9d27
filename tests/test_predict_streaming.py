"""Chunked log-mel and segment cutting against librosa and agf.audio.segment_starts."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from agf.audio.decode import load_audio, stream_audio
from agf.audio.mel import FrontEndSettings, LogMel
from agf.audio.segments import pad_frames, segment_starts
from agf.audio.streaming import ChunkedLogMel, SegmentCutter


def _librosa_db(y: np.ndarray) -> np.ndarray:
    mel = librosa.feature.melspectrogram(y=y.astype(np.float64), sr=22050, n_fft=1024, hop_length=512, n_mels=128)
    return librosa.power_to_db(mel, ref=1.0, top_db=None).T  # floor handled by the caller


def _chunked(y: np.ndarray, block: int) -> np.ndarray:
    frames = ChunkedLogMel(LogMel(FrontEndSettings()))
    parts = [frames.push(y[lo:lo + block]) for lo in range(0, len(y), block)]
    return np.concatenate([*parts, frames.finish()])


@pytest.mark.parametrize("block", [4096, 22050 * 5 + 13, 10 ** 7])
def test_chunked_frames_equal_whole_file_frames(shared_data, block):
    y = load_audio(shared_data / "gtzan3/audio/rock.00003.mp3")
    expected = _librosa_db(y)
    got = _chunked(y, block)
    assert got.shape == expected.shape
    # compare above every floor: the per-chunk floors are the only intended difference
    above = expected > expected.max() - 60
    np.testing.assert_allclose(got[above], expected[above], atol=2e-2)
    if block > len(y):  # one chunk: the whole-file floor too
        floored = np.maximum(expected, expected.max() - 80)
        np.testing.assert_allclose(got, floored, atol=2e-2)


def test_chunks_from_stream_audio_of_a_resampled_file(shared_data):
    path = shared_data / "cc_music/sorohanro_-_solo-trumpet-06.ogg"
    y = load_audio(path)
    frames = ChunkedLogMel(LogMel(FrontEndSettings()))
    got = np.concatenate([*(frames.push(b) for b in stream_audio(path, block_seconds=3.0)), frames.finish()])
    expected = _librosa_db(y)
    assert got.shape == expected.shape
    above = expected > expected.max() - 50
    np.testing.assert_allclose(got[above], expected[above], atol=0.1)


@pytest.mark.parametrize("n_frames", [1, 20, 42, 43, 44, 63, 64, 65, 85, 1293, 1300])
@pytest.mark.parametrize("chunk", [1, 5, 43, 100, 5000])
def test_segment_cutter_gives_segment_starts(n_frames, chunk):
    frames = np.random.default_rng(n_frames).normal(size=(n_frames, 4)).astype(np.float32)
    cutter = SegmentCutter()
    got = [cutter.push(frames[lo:lo + chunk]) for lo in range(0, n_frames, chunk)]
    got = np.concatenate([*got, cutter.finish()])
    padded = pad_frames(frames)
    expected = np.stack([padded[s:s + 43] for s in segment_starts(n_frames)])
    np.testing.assert_array_equal(got, expected)
    assert cutter.padded == (n_frames < 43)
