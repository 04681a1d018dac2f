import numpy as np


def make(rng):
    return ({"frame": rng.integers(0, 4096, (16, 16), dtype=np.uint16),
             "pedestal": rng.integers(0, 600, (16, 16), dtype=np.uint16)},
            {"gain": 300})
