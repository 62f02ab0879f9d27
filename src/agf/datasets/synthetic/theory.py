"""Music theory the recipes are written in: modes and scales, chord qualities, key names, and
turning a chord into MIDI notes and a MIDI note into a frequency."""

from __future__ import annotations

__all__ = [
    "AEOLIAN",
    "BLUES",
    "CHORDS",
    "DORIAN",
    "HARMONIC_MINOR",
    "IONIAN",
    "KEY_NAMES",
    "LYDIAN",
    "MINOR_PENTATONIC",
    "MIXOLYDIAN",
    "PHRYGIAN",
    "Chord",
    "midi_to_hz",
    "voicing",
]

# Scales as semitones above the key.
IONIAN = (0, 2, 4, 5, 7, 9, 11)
DORIAN = (0, 2, 3, 5, 7, 9, 10)
PHRYGIAN = (0, 1, 3, 5, 7, 8, 10)
LYDIAN = (0, 2, 4, 6, 7, 9, 11)
MIXOLYDIAN = (0, 2, 4, 5, 7, 9, 10)
AEOLIAN = (0, 2, 3, 5, 7, 8, 10)
HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11)
MINOR_PENTATONIC = (0, 3, 5, 7, 10)
BLUES = (0, 3, 5, 6, 7, 10)

#: Chord qualities as semitone intervals above the root.
CHORDS: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "pow": (0, 7, 12),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "dim": (0, 3, 6),
    "maj6": (0, 4, 7, 9),
    "dom7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "dom9": (0, 4, 7, 10, 14),
    "maj9": (0, 4, 7, 11, 14),
    "min9": (0, 3, 7, 10, 14),
}

KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

Chord = tuple[int, str]  # (root in semitones above the key, quality name in CHORDS)


def midi_to_hz(midi: float) -> float:
    """Equal-tempered frequency of a MIDI note (69 = A4 = 440 Hz)."""
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def voicing(root_midi: int, quality: str, center: int) -> list[int]:
    """The MIDI notes of a chord, each folded to the octave nearest ``center`` so that chord
    changes move the voices little. Power chords stay stacked (root, fifth, octave), the root
    nearest a major third below ``center``, as a guitarist plays them."""
    if quality == "pow":
        base = root_midi + 12 * round((center - 4 - root_midi) / 12)
        return [base + iv for iv in CHORDS["pow"]]
    notes = []
    for iv in CHORDS[quality]:
        m = root_midi + iv
        m += 12 * round((center - m) / 12)
        notes.append(m)
    return sorted(set(notes))
