import numpy as np


def make(rng):
    return {"frame": rng.integers(0, 100, (3, 8, 8), dtype=np.uint16)}, {"t": 3000}
