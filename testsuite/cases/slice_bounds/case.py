import numpy as np


def make(rng):
    return {"frame": rng.integers(0, 4096, (32, 64), dtype=np.uint16)}, {}
