import numpy as np


def make(rng):
    return ({"frame": rng.integers(-2000, 2000, (7, 4, 4), dtype=np.int16),
             "pedestal": rng.integers(-2000, 2000, (7, 4, 6), dtype=np.int16)}, {})
