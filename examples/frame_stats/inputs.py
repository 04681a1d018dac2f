import numpy as np


def make(rng):
    return {"frame": rng.integers(0, 65536, (24, 24), dtype=np.uint16)}, {"t": 60000}
