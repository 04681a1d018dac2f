import numpy as np


def make(rng):
    return {"frame": rng.integers(0, 4096, (8, 8), dtype=np.uint16)}, {}
