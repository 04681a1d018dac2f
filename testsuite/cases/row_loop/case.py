import numpy as np


def make(rng):
    return {"frame": rng.integers(0, 4096, (64, 32), dtype=np.uint16)}, {}
