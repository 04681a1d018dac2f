import numpy as np


def make(rng):
    return ({"frame": rng.integers(0, 65536, (5, 6, 8), dtype=np.uint16)}, {}, {})
