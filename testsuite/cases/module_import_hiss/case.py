import numpy as np


def make(rng):
    return {"frame": rng.integers(0, 4096, (4, 6), dtype=np.uint16)}, {"t": int(rng.integers(0, 4096))}
