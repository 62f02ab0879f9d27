"""Audio front end: decoding, resampling, log-mel spectrograms (frames first) and 1-s segments."""

from agf.audio.decode import AudioError, load_audio, stream_audio
from agf.audio.frontend import file_log_mel
from agf.audio.mel import N_MELS, FrontEndSettings, LogMel, mel_filterbank, power_to_db
from agf.audio.segments import SEGMENT_FRAMES, SEGMENT_HOP, pad_frames, segment_starts
from agf.audio.streaming import ChunkedLogMel, SegmentCutter

__all__ = [
    "N_MELS",
    "SEGMENT_FRAMES",
    "SEGMENT_HOP",
    "AudioError",
    "ChunkedLogMel",
    "FrontEndSettings",
    "LogMel",
    "SegmentCutter",
    "file_log_mel",
    "load_audio",
    "mel_filterbank",
    "pad_frames",
    "power_to_db",
    "segment_starts",
    "stream_audio",
]
