import numpy as np


def make(rng):
    return {"frame": rng.integers(0, 30, (4, 6), dtype=np.uint16)}, {}
