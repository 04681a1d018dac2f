import numpy as np


def make(rng):
    return {"frame": rng.integers(0, 65536, (16, 48), dtype=np.uint16)}, {"t": 40000}
