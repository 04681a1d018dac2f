import numpy as np


def make(rng):
    return {"frame": rng.integers(0, 1000, (6, 10), dtype=np.uint16)}, {}
