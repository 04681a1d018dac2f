import numpy as np


def make(rng):
    return {"frame": rng.integers(-100, 100, (4, 6), dtype=np.int32),
            "row": rng.integers(0, 100, 6, dtype=np.uint16)}, {}
