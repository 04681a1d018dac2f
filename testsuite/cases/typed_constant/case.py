import numpy as np


def make(rng):
    return {
        "frame": rng.integers(0, 65535, (8, 16), dtype=np.uint16),
        "d": rng.integers(-128, 128, (8, 16), dtype=np.int8),
    }, {}
