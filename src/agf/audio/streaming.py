"""Log-mel frames and 1-s segments of audio that arrives block by block (memory bounded).

:class:`ChunkedLogMel` keeps the STFT's overlap between blocks: its frames are the frames of
the whole-file computation (:class:`agf.audio.LogMel`, centred frames with zero padding),
sample for sample, except for the dB floor: the 80-dB floor below the maximum is taken per
chunk (the frames completed by one block) instead of per file, since the file's maximum is
unknown until its end. Frames well above the floor are identical; a file shorter than one
block is a single chunk and matches the whole-file computation exactly.

:class:`SegmentCutter` cuts the frame stream into 1-s segments at exactly the starts
:func:`agf.audio.segment_starts` gives for the whole file (the last one aligned to the end),
keeping only the frames a future segment still needs.
"""

from __future__ import annotations

import numpy as np
import torch

from agf.audio.mel import LogMel, power_to_db
from agf.audio.segments import SEGMENT_FRAMES, SEGMENT_HOP, pad_frames


class ChunkedLogMel:
    """Push mono sample blocks, get ``(n_frames, n_mels)`` float32 dB frames chunk by chunk.

    The frames completed by one block are held back until the next block (or :meth:`finish`)
    so the frames of the end of the file join the last block's chunk: a file of one block is
    one chunk, floored exactly as the whole-file computation.
    """

    def __init__(self, log_mel: LogMel):
        self.log_mel = log_mel
        s = log_mel.settings
        self.n_fft, self.hop = s.n_fft, s.hop_length
        # the centred first frame starts n_fft/2 samples before the signal: pad as LogMel does
        self._buffer = np.zeros(self.n_fft // 2, dtype=np.float32)
        self._pending = torch.zeros(s.n_mels, 0)  # mel power of frames not yet returned
        self.n_samples = 0
        self.n_frames = 0

    def _mel_power(self, n: int) -> torch.Tensor:
        """``(n_mels, n)`` mel power of the next ``n`` frames; drops the samples no later frame needs."""
        if n <= 0:
            return torch.zeros(self.log_mel.settings.n_mels, 0)
        used = self._buffer[: (n - 1) * self.hop + self.n_fft]
        with torch.inference_mode():
            spec = torch.stft(torch.from_numpy(used), self.n_fft, self.hop, window=self.log_mel.window,
                              center=False, return_complex=True)
            power = torch.matmul(self.log_mel.filters, spec.real.square() + spec.imag.square())
        self._buffer = self._buffer[n * self.hop:]
        self.n_frames += n
        return power

    def _db(self, power: torch.Tensor) -> np.ndarray:
        if power.shape[1] == 0:
            return np.zeros((0, power.shape[0]), dtype=np.float32)
        with torch.inference_mode():
            db = power_to_db(power[None], top_db=self.log_mel.settings.top_db)
        return db[0].T.contiguous().numpy()

    def push(self, samples: np.ndarray) -> np.ndarray:
        """The previous block's frames (the chunk before this one), in dB."""
        self._buffer = np.concatenate([self._buffer, np.asarray(samples, dtype=np.float32)])
        self.n_samples += len(samples)
        ready = (len(self._buffer) - self.n_fft) // self.hop + 1 if len(self._buffer) >= self.n_fft else 0
        power = self._mel_power(ready)
        if power.shape[1] == 0:
            return self._db(power)
        done, self._pending = self._pending, power
        return self._db(done)

    def finish(self) -> np.ndarray:
        """The last chunk: the whole file has ``1 + n_samples // hop`` frames."""
        self._buffer = np.concatenate([self._buffer, np.zeros(self.n_fft // 2, dtype=np.float32)])
        power = torch.cat([self._pending, self._mel_power(1 + self.n_samples // self.hop - self.n_frames)], dim=1)
        self._pending = power[:, :0]
        return self._db(power)


class SegmentCutter:
    """Push ``(n, n_mels)`` frames, get ``(k, segment_frames, n_mels)`` segments as they complete."""

    def __init__(self, *, segment_frames: int = SEGMENT_FRAMES, hop: int = SEGMENT_HOP):
        self.segment_frames, self.hop = segment_frames, hop
        self._frames: np.ndarray | None = None
        self._first = 0  # global index of the buffer's first frame
        self.n_frames = 0
        self._next_start = 0
        self._last_start = -1
        self.padded = False

    def _take(self, start: int) -> np.ndarray:
        return self._frames[start - self._first: start - self._first + self.segment_frames]

    def push(self, frames: np.ndarray) -> np.ndarray:
        if len(frames) == 0:
            return np.zeros((0, self.segment_frames, frames.shape[1]), dtype=np.float32)
        self._frames = frames if self._frames is None else np.concatenate([self._frames, frames])
        self.n_frames += len(frames)
        out = []
        while self._next_start + self.segment_frames <= self.n_frames:
            out.append(self._take(self._next_start))
            self._last_start = self._next_start
            self._next_start += self.hop
        # keep what the next regular segment or the end-aligned last one may still need
        keep_from = max(self._first, min(self._next_start, self.n_frames - self.segment_frames))
        self._frames = self._frames[keep_from - self._first:]
        self._first = keep_from
        return np.stack(out) if out else np.zeros((0, self.segment_frames, frames.shape[1]), dtype=np.float32)

    def finish(self) -> np.ndarray:
        """The last segment: end-aligned, or the whole clip padded with its floor when under one segment."""
        if self._frames is None:
            raise ValueError("no frames were pushed")
        if self.n_frames < self.segment_frames:
            self.padded = True
            return pad_frames(self._frames, self.segment_frames)[None]
        last = self.n_frames - self.segment_frames
        if self._last_start != last:
            self._last_start = last
            return self._take(last)[None]
        return np.zeros((0, self.segment_frames, self._frames.shape[1]), dtype=np.float32)
