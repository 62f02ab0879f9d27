"""Chunked log-mel and segment cutting against librosa and agf.audio.segment_starts, on real clips
(skipped without ../shared) and on synthesised ones."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

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


@pytest.fixture(params=["real", "synthetic"])
def whole_clip(request, synthetic_clip) -> np.ndarray:
    """A real 30-s clip or 8 s of synthesised house music, both longer than the 5-s block below."""
    if request.param == "synthetic":
        return synthetic_clip(5, seconds=8.0)
    return load_audio(request.getfixturevalue("shared_data") / "gtzan3/audio/rock.00003.mp3")


@pytest.mark.parametrize("block", [4096, 22050 * 5 + 13, 10 ** 7])
def test_chunked_frames_equal_whole_file_frames(whole_clip, block):
    """Frames computed chunk by chunk equal librosa's of the whole clip, above the per-chunk floors."""
    y = whole_clip
    expected = _librosa_db(y)
    got = _chunked(y, block)
    assert got.shape == expected.shape
    # compare above every floor: the per-chunk floors are the only intended difference
    above = expected > expected.max() - 60
    np.testing.assert_allclose(got[above], expected[above], atol=2e-2)
    if block > len(y):  # one chunk: the whole-file floor too
        floored = np.maximum(expected, expected.max() - 80)
        np.testing.assert_allclose(got, floored, atol=2e-2)


@pytest.fixture(params=["real", "synthetic"])
def streamed_file(request, synthetic_clip, tmp_path) -> Path:
    """A real 5-s recording (22,050 Hz), or 8 s of synthesised punk written at 44.1 kHz, so that
    stream_audio resamples it block by block."""
    if request.param == "synthetic":
        path = tmp_path / "punk44k.flac"
        sf.write(path, synthetic_clip(1, seconds=8.0, sample_rate=44100), 44100)
        return path
    return request.getfixturevalue("shared_data") / "cc_music/sorohanro_-_solo-trumpet-06.ogg"


def test_chunks_from_stream_audio_of_a_file(streamed_file):
    """Frames of the 3-s blocks stream_audio decodes equal librosa's of the whole decoded file."""
    y = load_audio(streamed_file)
    frames = ChunkedLogMel(LogMel(FrontEndSettings()))
    got = np.concatenate([*(frames.push(b) for b in stream_audio(streamed_file, block_seconds=3.0)), frames.finish()])
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
