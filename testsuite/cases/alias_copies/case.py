import numpy as np


def make(rng):
    return {"frame": rng.integers(-1000, 1000, (6, 8), dtype=np.int32)}, {}
