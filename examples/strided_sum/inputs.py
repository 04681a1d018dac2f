import numpy as np


def make(rng):
    return {"signal": rng.integers(0, 256, 64, dtype=np.uint8)}, {}
