"""The audio front end against librosa, on real clips of every container the data holds."""

from __future__ import annotations

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

# Largest |ours - librosa| in dB over every bin of a real clip. Float32 STFTs by two FFT
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


@pytest.mark.parametrize("name", ["gtzan3/audio/rock.00003.mp3", "gtzan10_excerpts/audio/blues.00001.wav"])
def test_log_mel_parity_with_librosa_on_real_clips(shared_data, name):
    y = load_audio(shared_data / name)
    ref = reference_log_mel(y)
    ours = LogMel()(torch.from_numpy(y)[None])[0].numpy().T  # ours is frames first, librosa's mel bins first
    assert ours.shape == ref.shape == (128, 1 + len(y) // 512)
    assert np.abs(ours - ref).max() < DB_TOLERANCE


def test_batched_log_mel_equals_one_by_one(shared_data):
    clips = [load_audio(p) for p in sorted((shared_data / "gtzan10_excerpts/audio").glob("*.wav"))[:3]]
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


def test_decoding_matches_librosa_load_with_resampling_and_stereo(shared_data, tmp_path):
    # the shared clips are all 22,050 Hz mono: make a 44.1 kHz stereo FLAC of real music
    y, sr = sf.read(shared_data / "cc_music/Kevin_MacLeod_-_Vibe_Ace.ogg", frames=22050 * 10, dtype="float32")
    left = librosa.resample(y, orig_sr=sr, target_sr=44100)
    path = tmp_path / "stereo44k.flac"
    sf.write(path, np.stack([left, 0.5 * left[::-1]], axis=1), 44100)
    ours = load_audio(path)
    ref, _ = librosa.load(path, sr=22050, mono=True)
    n = min(len(ours), len(ref))
    assert abs(len(ours) - len(ref)) <= 1
    assert np.abs(ours[:n] - ref[:n]).max() < 1e-4


def test_streamed_decoding_equals_whole_file(shared_data):
    path = shared_data / "cc_music/Kevin_MacLeod_-_Vibe_Ace.ogg"
    whole = load_audio(path)
    streamed = np.concatenate(list(stream_audio(path, block_seconds=1.5)))
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
