import numpy as np


def make(rng):
    return {"frame": rng.integers(0, 2000, (4, 6), dtype=np.uint16),
            "good": rng.integers(0, 2, (4, 6)).astype(bool),
            "s": rng.integers(-128, 128, (4, 6), dtype=np.int8)}, {}
