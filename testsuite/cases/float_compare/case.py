import numpy as np


def make(rng):
    return {"frame": rng.integers(-10, 11, (8, 16), dtype=np.int16)}, {"t": 3}
