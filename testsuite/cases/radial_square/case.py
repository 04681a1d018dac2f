import numpy as np


def make(rng):
    return {"frame": rng.integers(0, 1000, (12, 14), dtype=np.uint16)}, {}
