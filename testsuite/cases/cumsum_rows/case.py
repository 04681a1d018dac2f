import numpy as np


def make(rng):
    return {"frame": rng.integers(-30000, 30000, (4, 6), dtype=np.int16),
            "hits": rng.integers(0, 2, (4, 6)).astype(np.bool_)}, {}
