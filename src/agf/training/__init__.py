"""Training STN, MTN and wSTN networks on random 1-s crops."""
