import numpy as np


def make(rng):
    return ({"frame": rng.integers(0, 65536, (5, 8, 16), dtype=np.uint16)}, {},
            {"frames": np.array(40, dtype=np.uint32)})
