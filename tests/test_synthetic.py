"""Tests of the synthetic dataset generator: files, labels, audio sanity, and that the genre and
artist structure is audible to an independent reference (librosa features)."""

from __future__ import annotations

import collections
import csv
import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from agf.datasets.synthetic import (
    GENRES,
    SyntheticSettings,
    artist_profiles,
    generate_dataset,
    genre_names,
    synthesize_track,
    track_infos,
)
from agf.datasets.synthetic.instruments import INSTRUMENTS, Voice
from agf.datasets.synthetic.plan import track_params
from agf.datasets.synthetic.recipes import STYLE_PARTS
from agf.errors import SettingsError

librosa = pytest.importorskip("librosa")

SR = 22050


@pytest.fixture(scope="module")
def corpus():
    """60 tracks of 4 s over the 6 default genres, with librosa MFCC means and tempo estimates."""
    settings = SyntheticSettings(n_tracks=60, duration_s=4.0, seed=3)
    rows = []
    for i in range(settings.n_tracks):
        audio, info = synthesize_track(settings, i)
        mfcc = librosa.feature.mfcc(y=audio, sr=SR, n_mfcc=20).mean(axis=1)
        onset = librosa.onset.onset_strength(y=audio, sr=SR)
        tempo = float(librosa.feature.tempo(onset_envelope=onset, sr=SR)[0])
        rows.append((audio, info, mfcc, tempo, onset))
    return settings, rows


def _style(info):
    genre = next(g for g in GENRES if g.name == info.true_genre)
    return dict(genre.subgenres)[info.true_subgenre]


def test_settings_are_validated():
    with pytest.raises(SettingsError, match=f"n genres must be a whole number in \\[1, {len(GENRES)}\\]"):
        SyntheticSettings(n_genres=len(GENRES) + 1)
    with pytest.raises(SettingsError, match=r"n tracks \(3\) must be at least n genres \(6\)"):
        SyntheticSettings(n_tracks=3, n_genres=6)
    with pytest.raises(SettingsError, match=r"label noise must be a number in \[0, 1\)"):
        SyntheticSettings(label_noise=1.0)
    with pytest.raises(IndexError):
        synthesize_track(SyntheticSettings(n_tracks=10), 10)


def test_every_instrument_of_the_recipes_is_registered():
    named = {
        name
        for genre in GENRES
        for _, style in genre.subgenres
        for name in (style.harmony, style.bass, *style.leads)
        if name  # bass "" = no bass
    }
    assert named <= set(INSTRUMENTS), named - set(INSTRUMENTS)
    artist = artist_profiles(SyntheticSettings(n_tracks=6))[0]
    voice = Voice(artist, SR, np.random.default_rng(0), SR)
    assert voice.note("pad", 60, 0.5).shape == (int(1.1 * SR),)
    with pytest.raises(ValueError, match="unknown instrument 'kazoo'"):
        voice.note("kazoo", 60, 0.5)


def test_dataset_is_deterministic_resumable_and_well_formed(tmp_path: Path):
    settings = SyntheticSettings(n_tracks=14, duration_s=1.5, seed=11)
    csv_a = generate_dataset(settings, tmp_path / "a", progress=False)
    csv_b = generate_dataset(settings, tmp_path / "b", progress=False)
    assert csv_a == tmp_path / "a" / "tracks.csv"
    assert csv_a.read_bytes() == csv_b.read_bytes()

    with open(csv_a, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["track_id", "path", "genre", "artist", "subgenres", "title"]
    assert [r["track_id"] for r in rows] == [f"syn{i:05d}" for i in range(14)]
    for r in rows:
        path_a = csv_a.parent / r["path"]
        assert r["path"] == f"audio/{r['track_id']}.flac"
        assert path_a.read_bytes() == (csv_b.parent / r["path"]).read_bytes()
        info = sf.info(str(path_a))
        assert (info.samplerate, info.channels, info.frames) == (SR, 1, int(1.5 * SR))
        assert info.format == "FLAC" and info.subtype == "PCM_16"
        assert r["subgenres"].split(";")[0] == r["genre"]
        assert r["artist"].startswith("syn-artist-") and r["title"]

    # Resume: delete some files; only those are rewritten, and identically.
    audio = csv_a.parent / "audio"
    deleted = [audio / "syn00002.flac", audio / "syn00009.flac"]
    for p in deleted:
        p.unlink()
    kept = sorted(audio.glob("*.flac"))
    old = 1_000_000_000 * 10**9  # 2001: a rewritten file would get the current time
    for p in kept:
        os.utime(p, ns=(old, old))
    generate_dataset(settings, tmp_path / "a", progress=False)
    for p in deleted:
        assert p.read_bytes() == (csv_b.parent / "audio" / p.name).read_bytes()
    assert all(p.stat().st_mtime_ns == old for p in kept)
    assert sorted(p.name for p in audio.iterdir()) == [f"syn{i:05d}.flac" for i in range(14)]

    # Other settings in the same folder regenerate everything.
    generate_dataset(SyntheticSettings(n_tracks=14, duration_s=1.5, seed=12), tmp_path / "a", progress=False)
    assert (audio / "syn00000.flac").read_bytes() != (csv_b.parent / "audio" / "syn00000.flac").read_bytes()


def test_labels_artists_and_subgenres():
    settings = SyntheticSettings(n_tracks=300, seed=1, label_noise=0.0)
    infos = track_infos(settings)
    artists = {a.artist_id: a for a in artist_profiles(settings)}
    assert len(artists) == 30 and "syn-artist-03" in artists
    assert {i.genre for i in infos} == set(genre_names(6))
    for genre in GENRES:
        assert 2 <= len(genre.subgenres) <= 3
    counts = collections.Counter(i.artist for i in infos)
    assert set(counts) == set(artists)  # every artist has a track
    assert min(counts.values()) <= 3 and max(counts.values()) >= 3 * min(counts.values())
    assert any(len(a.genres) == 2 for a in artists.values())
    subs = {g.name: g.subgenre_names for g in GENRES}
    for i in infos:
        artist = artists[i.artist]
        assert not i.noisy and i.genre == i.true_genre
        assert i.genre in artist.genres
        assert i.subgenres == (i.genre, artist.subgenre_of(i.genre))
        assert i.subgenres[1] in subs[i.genre]
    # an artist keeps its sub-style: its key is the most frequent key of its tracks
    by_artist = collections.defaultdict(list)
    for i in infos:
        by_artist[i.artist].append(i.key)
    agree = [collections.Counter(k).most_common(1)[0][1] / len(k) for k in by_artist.values() if len(k) >= 5]
    assert np.mean(agree) > 0.6


def test_label_noise_rate_and_audio_unchanged():
    clean = SyntheticSettings(n_tracks=500, seed=2, duration_s=1.0, label_noise=0.0)
    noisy = SyntheticSettings(n_tracks=500, seed=2, duration_s=1.0, label_noise=0.2)
    a, b = track_infos(clean), track_infos(noisy)
    wrong = [i for i in b if i.genre != i.true_genre]
    assert abs(len(wrong) / 500 - 0.2) < 0.02
    assert all(i.noisy == (i.genre != i.true_genre) for i in b)
    assert all(i.subgenres[1] in dict(GENRES[[g.name for g in GENRES].index(i.genre)].subgenres) for i in wrong)
    assert [i.true_genre for i in a] == [i.true_genre for i in b]
    assert [i.artist for i in a] == [i.artist for i in b]
    k = wrong[0].index
    assert np.array_equal(synthesize_track(clean, k)[0], synthesize_track(noisy, k)[0])


def test_crossover_tracks_borrow_from_a_neighbouring_genre_and_keep_their_labels():
    plain = SyntheticSettings(n_tracks=200, seed=3, duration_s=1.0, crossover=0.0)
    mixed = SyntheticSettings(n_tracks=200, seed=3, duration_s=1.0, crossover=0.5)
    assert track_infos(plain) == track_infos(mixed)  # the labels are the same, only the sound moves
    styles = [(track_params(plain, i)[1].style, track_params(mixed, i)[1].style) for i in range(200)]
    crossed = [i for i, (a, b) in enumerate(styles) if a != b]
    assert 0.35 < len(crossed) / 200 < 0.6  # half the tracks, of genres with a neighbour among the six
    for i in crossed:
        a, b = styles[i]
        borrowed = {part for part, names in STYLE_PARTS.items() if any(getattr(a, n) != getattr(b, n) for n in names)}
        assert 1 <= len(borrowed) <= 2
        changed = {f.name for f in dataclasses.fields(a) if getattr(a, f.name) != getattr(b, f.name)}
        assert changed <= {n for part in borrowed for n in STYLE_PARTS[part]}  # nothing else moved
    kept = next(i for i in range(200) if i not in crossed)
    assert np.array_equal(synthesize_track(plain, kept)[0], synthesize_track(mixed, kept)[0])
    # a borrowed part can be silent in 1 s (a sparse lead); most cross-over tracks sound different
    differ = [not np.array_equal(synthesize_track(plain, i)[0], synthesize_track(mixed, i)[0]) for i in crossed[:6]]
    assert sum(differ) >= 4


def test_audio_sanity(corpus):
    settings, rows = corpus
    for audio, info, *_ in rows:
        assert audio.dtype == np.float32 and audio.shape == (settings.n_samples,)
        assert np.isfinite(audio).all()
        peak = np.abs(audio).max()
        assert 0.85 < peak <= 1.0
        rms = float(np.sqrt(np.mean(audio**2)))
        assert 0.02 < rms < 0.4, (info, rms)
        half = len(audio) // 2
        assert np.sqrt(np.mean(audio[:half] ** 2)) > 0.01 and np.sqrt(np.mean(audio[half:] ** 2)) > 0.01
    other = synthesize_track(SyntheticSettings(n_tracks=6, sample_rate=16000, duration_s=2.0), 0)[0]
    assert other.shape == (32000,) and np.isfinite(other).all()


def test_genres_are_separable_by_mfcc(corpus):
    _, rows = corpus
    x = np.array([r[2] for r in rows])
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    genres = np.array([r[1].true_genre for r in rows])
    correct = 0
    for i in range(len(rows)):  # leave-one-out nearest centroid
        train = np.arange(len(rows)) != i
        cents = {g: x[train & (genres == g)].mean(axis=0) for g in set(genres[train])}
        pred = min(cents, key=lambda g: np.linalg.norm(x[i] - cents[g]))
        correct += pred == genres[i]
    assert correct / len(rows) > 0.6  # chance is 1/6


def test_same_artist_tracks_are_closer(corpus):
    _, rows = corpus
    x = np.array([r[2] for r in rows])
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    same, other = [], []
    for i, ri in enumerate(rows):
        for j, rj in enumerate(rows):
            if i != j and ri[1].true_genre == rj[1].true_genre:
                (same if ri[1].artist == rj[1].artist else other).append(d[i, j])
    assert len(same) >= 20
    assert np.mean(same) < 0.85 * np.mean(other)
    cross = d[np.array([r[1].true_genre for r in rows])[:, None] != np.array([r[1].true_genre for r in rows])[None]]
    assert np.mean(other) < np.mean(cross)


def test_tempo_is_audible(corpus):
    """On tracks with drums, librosa's tempo estimate matches the synthesised tempo up to octave
    errors, and the onset envelope is more periodic at the beat period than at a 20 % wrong one."""
    _, rows = corpus
    fps = SR / 512
    drum = [(onset, info, est) for _, info, _, est, onset in rows if _style(info).kick]
    assert len(drum) >= 30
    tempo_ok = [any(abs(est / (info.tempo_bpm * m) - 1) < 0.06 for m in (0.5, 1.0, 2.0)) for _, info, est in drum]
    assert np.mean(tempo_ok) > 0.7, np.mean(tempo_ok)

    def peak(ac: np.ndarray, lag: float) -> float:
        k = round(lag)
        return float(ac[max(k - 1, 1) : k + 2].max())

    periodic = []
    for onset, info, _ in drum:
        ac = librosa.autocorrelate(onset - onset.mean())
        beat = 60.0 / info.tempo_bpm * fps
        periodic.append(peak(ac, beat) > max(peak(ac, beat * 1.2), peak(ac, beat / 1.2)))
    assert np.mean(periodic) > 0.75, np.mean(periodic)


def test_parallel_generation_writes_the_same_files(tmp_path):
    settings = SyntheticSettings(n_tracks=8, duration_s=1.0, seed=4)
    serial = generate_dataset(settings, tmp_path / "one", progress=False).parent
    parallel = generate_dataset(settings, tmp_path / "two", jobs=2, progress=False).parent
    assert (serial / "tracks.csv").read_bytes() == (parallel / "tracks.csv").read_bytes()
    for path in sorted((serial / "audio").glob("*.flac")):
        assert path.read_bytes() == (parallel / "audio" / path.name).read_bytes()
    assert not list((parallel / "audio").glob("*.tmp.*"))
