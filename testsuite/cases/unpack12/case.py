import numpy as np


def make(rng):
    return ({"packed": rng.integers(0, 256, (5, 6, 48), dtype=np.uint8),
             "row": rng.integers(0, 65536, (5, 6, 32), dtype=np.uint16)}, {})
