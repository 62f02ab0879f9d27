"""Artist group factors: MFCC / dMFCC / Essentia dictionaries, artist bags, LDA targets."""
