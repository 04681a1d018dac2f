import numpy as np


def make(rng):
    return ({"frame": rng.integers(0, 256, (37, 2), dtype=np.uint8)}, {},
            {"acc": rng.integers(0, 1000, 2, dtype=np.uint32)})
