import numpy as np


def make(rng):
    frames = rng.integers(0, 4096, (3, 3, 4, 5), dtype=np.uint16)   # a batch of 3 frames
    return {"frame": frames}, {"t": 150, "mode": 3}
