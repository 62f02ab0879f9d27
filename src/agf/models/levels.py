"""The levels a network's input can be taken at (:func:`agf.models.input.network_input`), torch-free
so that settings can name them without importing torch."""

LEVELS = ("segment", "absolute")
