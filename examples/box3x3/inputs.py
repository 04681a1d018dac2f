import numpy as np


def make(rng):
    return {"frame": rng.integers(0, 65536, (64, 1024), dtype=np.uint16)}, {}
