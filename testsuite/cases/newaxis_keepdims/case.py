import numpy as np


def make(rng):
    return {
        "frame": rng.integers(0, 65535, (8, 16), dtype=np.uint16),
        "gain": rng.integers(0, 100, 8, dtype=np.uint16),
        "g2": rng.integers(0, 256, 16, dtype=np.uint8),
    }, {}
