import numpy as np


def make(rng):
    return ({"frame": rng.integers(0, 4096, (5, 4, 514), dtype=np.uint16)}, {}, {})
