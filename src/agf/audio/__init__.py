"""Audio front end: decoding, resampling, log-mel spectrograms (frames first) and 1-s segments."""

from agf.lazy import lazy_exports

_EXPORTS = {
    "AudioError": "agf.audio.decode",
    "load_audio": "agf.audio.decode",
    "stream_audio": "agf.audio.decode",
    "file_log_mel": "agf.audio.frontend",
    "N_MELS": "agf.audio.mel",
    "FrontEndSettings": "agf.audio.mel",
    "LogMel": "agf.audio.mel",
    "mel_filterbank": "agf.audio.mel",
    "power_to_db": "agf.audio.mel",
    "SEGMENT_FRAMES": "agf.audio.segments",
    "SEGMENT_HOP": "agf.audio.segments",
    "pad_frames": "agf.audio.segments",
    "segment_starts": "agf.audio.segments",
    "ChunkedLogMel": "agf.audio.streaming",
    "SegmentCutter": "agf.audio.streaming",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
