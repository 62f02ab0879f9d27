"""Decode any common audio file to mono float32 at the front end's sample rate.

soundfile (libsndfile >= 1.1) reads WAV, FLAC, OGG/Vorbis, OPUS, MP3 and AU; soxr resamples
with the same 'HQ' quality librosa uses by default. Every problem with a file is raised as an
:class:`AudioError` that names the file, so a caller can record it and go on with the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from agf.errors import AgfError


class AudioError(AgfError):
    """A file that cannot be used as audio; ``str()`` names the file and the problem."""

    def __init__(self, path: Path | str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


# the first bytes of the formats libsndfile reads, to say what a file it refuses is not
_MAGIC = {b"RIFF": "WAV", b"fLaC": "FLAC", b"OggS": "Ogg", b"ID3": "MP3 (ID3 tag)", b"FORM": "AIFF", b".snd": "AU"}


_NOT_A = {".mp3": "not an MPEG stream", ".wav": "not a WAV file (no RIFF header)", ".flac": "not a FLAC file",
          ".ogg": "not an Ogg file", ".opus": "not an Ogg file", ".aiff": "not an AIFF file", ".au": "not an AU file"}


def _what_is_wrong(path: Path, err: Exception) -> str:
    """libsndfile's open errors say "possibly a pipe?" for any unreadable content: name the real problem."""
    with open(path, "rb") as f:
        head = f.read(4)
    known = next((name for magic, name in _MAGIC.items() if head.startswith(magic)), None)
    if known is None and len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        known = "MPEG audio"
    if known is None:
        kind = _NOT_A.get(path.suffix.lower(), "not in an audio format agf reads")
        return f"cannot decode: {kind} (starts with {head!r}); is it audio?"
    return f"cannot decode: looks like {known} but is damaged or cut short ({err})"


def _open(path: Path) -> sf.SoundFile:
    if not path.exists():
        raise AudioError(path, "file not found")
    if path.is_dir():
        raise AudioError(path, "is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    try:
        return sf.SoundFile(path)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise AudioError(path, _what_is_wrong(path, err)) from None


def _to_mono(block: np.ndarray) -> np.ndarray:
    if block.ndim == 1:
        return block
    return block.mean(axis=1, dtype=np.float32)


def _check_samples(path: Path, y: np.ndarray) -> None:
    # one pass: the peak is NaN when any sample is, infinite when any is, zero for silence
    peak = float(np.abs(y).max())
    if not np.isfinite(peak):
        raise AudioError(path, "contains non-finite samples")
    if peak == 0.0:
        raise AudioError(path, "is digital silence (every sample is zero)")


def load_audio(path: Path | str, *, sr: int = 22050) -> np.ndarray:
    """Decode a whole file to a mono float32 array at ``sr`` Hz.

    Channels are averaged; resampling uses soxr 'HQ'.

    Raises:
        AudioError: missing file, directory, undecodable data, no samples, non-finite samples,
            or digital silence (every sample zero).
    """
    path = Path(path)
    with _open(path) as f:
        native_sr = f.samplerate
        try:
            y = _to_mono(f.read(dtype="float32"))
        except (sf.LibsndfileError, RuntimeError) as err:
            raise AudioError(path, f"decoding failed part-way ({err})") from None
    if y.size == 0:
        raise AudioError(path, "contains no audio samples (empty file)")
    _check_samples(path, y)
    if native_sr != sr:
        y = soxr.resample(y, native_sr, sr, quality="HQ").astype(np.float32, copy=False)
    return y


def stream_audio(path: Path | str, *, sr: int = 22050, block_seconds: float = 60.0) -> Iterator[np.ndarray]:
    """Decode a file block by block (mono float32 at ``sr``), memory bounded by ``block_seconds``.

    Concatenating the blocks gives the same signal as :func:`load_audio` up to resampler edge
    effects, which soxr's streaming interface avoids by carrying its state across blocks.
    """
    path = Path(path)
    with _open(path) as f:
        native_sr = f.samplerate
        resampler = None if native_sr == sr else soxr.ResampleStream(native_sr, sr, 1, dtype="float32", quality="HQ")
        block_len = max(1, int(block_seconds * native_sr))
        any_samples = False
        any_sound = False
        while True:
            try:
                block = f.read(block_len, dtype="float32")
            except (sf.LibsndfileError, RuntimeError) as err:
                raise AudioError(path, f"decoding failed part-way ({err})") from None
            last = len(block) < block_len
            y = _to_mono(block)
            if y.size:
                peak = float(np.abs(y).max())
                if not np.isfinite(peak):
                    raise AudioError(path, "contains non-finite samples")
                any_samples = True
                any_sound |= peak > 0.0
            if resampler is not None:
                y = resampler.resample_chunk(y, last=last)
            if y.size:
                yield y
            if last:
                break
    if not any_samples:
        raise AudioError(path, "contains no audio samples (empty file)")
    if not any_sound:
        raise AudioError(path, "is digital silence (every sample is zero)")
