"""The classical baseline a user tries first: MFCC and spectral-contrast statistics + logistic regression.

Per track: mean and standard deviation over frames of 20 MFCCs, their deltas and 7 spectral
contrast bands (librosa, the field's reference implementation), standardised, then a
multinomial logistic regression (scikit-learn). Trained on the training tracks of the same
split as the deep cases, scored with the same metrics on the same tracks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from agf.audio.decode import load_audio
from agf.settings import Interval, Settings


@dataclass(frozen=True)
class BaselineSettings(Settings):
    n_mfcc: int = 20
    C: float = 1.0
    max_iter: int = 2000

    constraints = {"n_mfcc": Interval(int, 1, 128), "C": Interval(float, 0.0, low_open=True),
                   "max_iter": Interval(int, 1)}


def track_statistics(path: Path | str, settings: BaselineSettings = BaselineSettings()) -> np.ndarray:
    """``(4 * n_mfcc + 14,)`` float32: mean and std of MFCCs, their deltas and spectral contrast."""
    import librosa

    y = load_audio(path, sr=22050)
    stft = np.abs(librosa.stft(y, n_fft=1024, hop_length=512))
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=stft**2, sr=22050, n_mels=128))
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=settings.n_mfcc)
    delta = np.diff(mfcc, axis=1) if mfcc.shape[1] > 1 else np.zeros_like(mfcc)
    contrast = librosa.feature.spectral_contrast(S=stft, sr=22050, n_fft=1024)
    parts = [mfcc, delta, contrast]
    return np.concatenate([np.r_[p.mean(axis=1), p.std(axis=1)] for p in parts]).astype(np.float32)


def baseline_probabilities(tracks: pd.DataFrame, genres: tuple[str, ...], settings: BaselineSettings = BaselineSettings(),
                           *, splits: tuple[str, ...] = ("valid",),
                           progress: bool = True) -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
    """Fit on the ``split == 'train'`` rows, predict the rows of each of ``splits``.

    Returns, per split, its rows and their ``(n, len(genres))`` probabilities, columns in
    ``genres`` order (a genre absent from training gets probability 0).
    """
    scored = tracks[tracks["split"].isin(("train", *splits))].reset_index(drop=True)
    features = np.stack([track_statistics(p, settings) for p in tqdm(scored["path"], desc="baseline features",
                                                                       unit="track", disable=not progress)])
    train = (scored["split"] == "train").to_numpy()
    model = make_pipeline(StandardScaler(), LogisticRegression(C=settings.C, max_iter=settings.max_iter))
    model.fit(features[train], scored.loc[train, "genre"])
    result = {}
    for split in splits:
        chosen = (scored["split"] == split).to_numpy()
        probs = np.zeros((int(chosen.sum()), len(genres)))
        fitted = model.predict_proba(features[chosen])
        for j, genre in enumerate(model.classes_):
            probs[:, genres.index(genre)] = fitted[:, j]
        result[split] = (scored[chosen].reset_index(drop=True), probs)
    return result
