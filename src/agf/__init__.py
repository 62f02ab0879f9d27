"""agf: music-genre classification with transfer learning from artist group factors.

Kim, Won, Serra & Liem, "Transfer Learning of Artist Group Factors to Musical Genre
Classification", WWW 2018 Companion.
"""

__version__ = "0.1.0"
