import numpy as np


def make(rng):
    f = rng.integers(-128, 128, (6, 4, 6), dtype=np.int8)
    f[1] = 100   # every pixel selected
    f[2] = -100  # none
    return {"frame": f}, {"t": 50}
