import numpy as np


def make(rng):
    frames = rng.integers(0, 200, (5, 32, 32), dtype=np.uint16)   # a batch of 5 frames
    frames[2, 3:7, 3:7] = 3000
    frames[4, 0, :11] = 3000
    return {"frame": frames}, {"t": 2500}
