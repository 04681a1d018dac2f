import numpy as np


def make(rng):
    return ({"frame": rng.integers(0, 1000, (9, 8, 8), dtype=np.uint16)}, {"t": 900}, {})
