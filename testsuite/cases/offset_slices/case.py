import numpy as np


def make(rng):
    return {"frame": rng.integers(0, 50, (8, 16), dtype=np.uint16)}, {}
