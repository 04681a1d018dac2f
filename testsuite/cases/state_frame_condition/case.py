import numpy as np


def make(rng):
    frames = rng.integers(0, 120, (11, 6, 8), dtype=np.uint16)
    frames[rng.random((11, 6, 8)) < 0.08] = 900
    return ({"frame": frames}, {"t": 500}, {})
