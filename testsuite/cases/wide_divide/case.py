import numpy as np


def make(rng):
    x = rng.integers(-2**31, 2**31, (8, 8), dtype=np.int32)
    x[0, :4] = [-2**31, 2**31 - 1, -1, 0]
    u = rng.integers(0, 2**32, (8, 8), dtype=np.uint32)
    u[0, :2] = [2**32 - 1, 0]
    return {"x": x, "u": u}, {}
