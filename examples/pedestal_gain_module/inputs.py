import numpy as np


def make(rng):
    return {"frame": rng.integers(0, 4096, (512, 1024), dtype=np.uint16),
            "pedestal": rng.integers(0, 4096, (512, 1024), dtype=np.uint16)}, {"gain": 300}
