"""Audio front end: decoding, resampling, log-mel spectrograms and 1-s segments."""

from agf.audio.decode import AudioError, load_audio, stream_audio
from agf.audio.mel import FrontEndSettings, LogMel, mel_filterbank, power_to_db
from agf.audio.segments import segment_starts

__all__ = [
    "AudioError",
    "FrontEndSettings",
    "LogMel",
    "load_audio",
    "mel_filterbank",
    "power_to_db",
    "segment_starts",
    "stream_audio",
]
