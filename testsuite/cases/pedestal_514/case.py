import numpy as np


def make(rng):
    return ({"frame": rng.integers(0, 65535, (3, 16, 514), dtype=np.uint16),
             "ped": rng.integers(0, 65535, (3, 514), dtype=np.uint16)}, {})
