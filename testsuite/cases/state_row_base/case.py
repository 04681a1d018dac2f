import numpy as np


def make(rng):
    return ({"frame": rng.integers(0, 65536, (4, 6, 8), dtype=np.uint16)}, {},
            {"base": rng.integers(-1000, 1000, 8, dtype=np.int32)})
