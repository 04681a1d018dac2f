import numpy as np


def make(rng):
    return {"frame": rng.integers(0, 65536, (8, 512), dtype=np.uint16)}, {}
