import numpy as np


def make(rng):
    return ({"frame": rng.integers(0, 256, (6, 16), dtype=np.uint8),
             "gain": rng.integers(0, 256, 16, dtype=np.uint8)}, {})
