"""The audio front end against librosa, on real clips of every container the data holds (skipped without
../shared) and on synthesised ones (always)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from agf.audio import (
    AudioError,
    FrontEndSettings,
    LogMel,
    load_audio,
    mel_filterbank,
    segment_starts,
    stream_audio,
)
from agf.audio.segments import pad_frames

librosa = pytest.importorskip("librosa")

# Largest |ours - librosa| in dB over every bin of a clip (real or synthesised). Float32 STFTs by two FFT
# libraries differ by ~1e-6 relative; in dB that is ~1e-4 near the peaks, and the 80-dB floor
# clamps the quiet bins where relative error is largest.
DB_TOLERANCE = 2e-3


def reference_log_mel(y: np.ndarray, sr: int = 22050) -> np.ndarray:
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=1024, hop_length=512, n_mels=128)
    return librosa.power_to_db(mel)


def test_mel_filterbank_matches_librosa():
    ours = mel_filterbank(sr=22050, n_fft=1024, n_mels=128)
    ref = librosa.filters.mel(sr=22050, n_fft=1024, n_mels=128)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7)


# real clips by path under ../shared/data; synthesised ones by track index of the `synthetic_clip` fixture
REAL_CLIPS = ["gtzan3/audio/rock.00003.mp3", "gtzan10_excerpts/audio/blues.00001.wav"]
SYNTHETIC_CLIPS = {"synthetic-ambient": 0, "synthetic-punk": 1}


@pytest.fixture(params=[*REAL_CLIPS, *SYNTHETIC_CLIPS])
def clip(request, synthetic_clip) -> np.ndarray:
    """A mono 22,050-Hz clip: a real one (skipped without ../shared) or a 2-s synthesised one."""
    if request.param in SYNTHETIC_CLIPS:
        return synthetic_clip(SYNTHETIC_CLIPS[request.param])
    return load_audio(request.getfixturevalue("shared_data") / request.param)


def test_log_mel_parity_with_librosa(clip):
    """Our log-mel of a clip equals librosa's melspectrogram + power_to_db in every bin."""
    ref = reference_log_mel(clip)
    ours = LogMel()(torch.from_numpy(clip)[None])[0].numpy().T  # ours is frames first, librosa's mel bins first
    assert ours.shape == ref.shape == (128, 1 + len(clip) // 512)
    assert np.abs(ours - ref).max() < DB_TOLERANCE


@pytest.fixture(params=["real", "synthetic"])
def clips_of_three_lengths(request, synthetic_clip) -> list[np.ndarray]:
    """Three mono clips of different lengths: real excerpts, or synthesised tracks cut to 2, 1.3 and 0.6 s."""
    if request.param == "synthetic":
        return [synthetic_clip(i)[:n] for i, n in [(1, 44100), (3, 28665), (4, 13230)]]
    excerpts = sorted((request.getfixturevalue("shared_data") / "gtzan10_excerpts/audio").glob("*.wav"))[:3]
    return [load_audio(p) for p in excerpts]


def test_batched_log_mel_equals_one_by_one(clips_of_three_lengths):
    """Clips zero-padded into one batch get, up to each one's length, the frames each gets alone."""
    clips = clips_of_three_lengths
    assert len({len(c) for c in clips}) == 3
    longest = max(len(c) for c in clips)
    batch = torch.zeros(len(clips), longest)
    for i, c in enumerate(clips):
        batch[i, : len(c)] = torch.from_numpy(c)
    lengths = torch.tensor([len(c) for c in clips])
    together = LogMel()(batch, lengths)
    for i, c in enumerate(clips):
        alone = LogMel()(torch.from_numpy(c)[None])[0]
        n = 1 + len(c) // 512
        torch.testing.assert_close(together[i, :n], alone, atol=1e-3, rtol=0)


@pytest.fixture(params=["real", "synthetic"])
def music_at_44k(request, synthetic_clip) -> np.ndarray:
    """Mono music at 44.1 kHz: 10 s of a real (22,050-Hz) recording upsampled by librosa, or 3 s
    synthesised at 44.1 kHz, whose content above 11 kHz the resampler must filter out."""
    if request.param == "synthetic":
        return synthetic_clip(1, seconds=3.0, sample_rate=44100)
    path = request.getfixturevalue("shared_data") / "cc_music/Kevin_MacLeod_-_Vibe_Ace.ogg"
    y, sr = sf.read(path, frames=22050 * 10, dtype="float32")
    return librosa.resample(y, orig_sr=sr, target_sr=44100)


def test_decoding_matches_librosa_load_with_resampling_and_stereo(music_at_44k, tmp_path):
    """A 44.1-kHz stereo FLAC decodes to librosa.load's mono 22,050-Hz signal."""
    # the shared clips are all 22,050 Hz mono: a 44.1 kHz stereo FLAC exercises the downmix and the resampler
    left = music_at_44k
    path = tmp_path / "stereo44k.flac"
    sf.write(path, np.stack([left, 0.5 * left[::-1]], axis=1), 44100)
    ours = load_audio(path)
    ref, _ = librosa.load(path, sr=22050, mono=True)
    n = min(len(ours), len(ref))
    assert abs(len(ours) - len(ref)) <= 1
    assert np.abs(ours[:n] - ref[:n]).max() < 1e-4


@pytest.fixture(params=["real", "synthetic"])
def long_file(request, synthetic_clip, tmp_path) -> Path:
    """A minute of real music at 22,050 Hz, or 8 s synthesised at 44.1 kHz (so decoded through the resampler)."""
    if request.param == "synthetic":
        path = tmp_path / "synthetic44k.flac"
        sf.write(path, synthetic_clip(5, seconds=8.0, sample_rate=44100), 44100)
        return path
    return request.getfixturevalue("shared_data") / "cc_music/Kevin_MacLeod_-_Vibe_Ace.ogg"


def test_streamed_decoding_equals_whole_file(long_file):
    """Decoding in 1.5-s blocks gives the whole-file signal, away from the resampler's edges."""
    whole = load_audio(long_file)
    streamed = np.concatenate(list(stream_audio(long_file, block_seconds=1.5)))
    n = min(len(whole), len(streamed))
    assert abs(len(whole) - len(streamed)) < 64
    assert np.abs(whole[1000 : n - 1000] - streamed[1000 : n - 1000]).max() < 1e-3


def test_real_corrupt_file_names_the_file(shared_data):
    path = shared_data / "gtzan3/audio/jazz.00054.wav"
    with pytest.raises(AudioError) as err:
        load_audio(path)
    assert "jazz.00054.wav" in str(err.value)


def test_missing_directory_empty_and_silent_files(tmp_path):
    with pytest.raises(AudioError, match="not found"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match="directory"):
        load_audio(tmp_path)
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, dtype=np.float32), 22050)
    with pytest.raises(AudioError, match="no audio samples"):
        load_audio(empty)
    silent = tmp_path / "silent.flac"
    sf.write(silent, np.zeros(22050, dtype=np.float32), 22050)
    with pytest.raises(AudioError, match="silence"):
        load_audio(silent)
    zero_bytes = tmp_path / "zero.mp3"
    zero_bytes.write_bytes(b"")
    with pytest.raises(AudioError, match="zero.mp3"):
        load_audio(zero_bytes)


def test_segment_starts_cover_the_track_with_hop_21():
    np.testing.assert_array_equal(segment_starts(43), [0])
    np.testing.assert_array_equal(segment_starts(20), [0])
    np.testing.assert_array_equal(segment_starts(100), [0, 21, 42, 57])
    starts = segment_starts(1293)
    assert starts[-1] == 1293 - 43 and np.all(np.diff(starts)[:-1] == 21)


def test_short_clip_is_padded_with_its_own_floor():
    mel = np.random.default_rng(0).normal(size=(10, 128)).astype(np.float32)
    padded = pad_frames(mel, 43)
    assert padded.shape == (43, 128)
    np.testing.assert_array_equal(padded[:10], mel)
    assert np.all(padded[10:] == mel.min())


def test_front_end_settings_match_the_spec():
    s = FrontEndSettings()
    assert (s.sample_rate, s.n_fft, s.hop_length, s.n_mels, s.segment_frames) == (22050, 1024, 512, 128, 43)
