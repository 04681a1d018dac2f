import numpy as np


def make(rng):
    frame = rng.integers(0, 4096, (3, 16, 514), dtype=np.uint16)
    frame[1, 5] = 4095  # a row that is all hot
    return {"frame": frame}, {"t": 4000}
