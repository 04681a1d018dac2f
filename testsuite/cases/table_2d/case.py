import numpy as np


def make(rng):
    return ({"frame": rng.integers(0, 60000, (4, 2, 3), dtype=np.uint16),
             "code": rng.integers(0, 65536, (4, 8), dtype=np.uint16)}, {}, {})
