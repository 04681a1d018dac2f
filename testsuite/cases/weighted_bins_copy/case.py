import numpy as np


def make(rng):
    return ({"values": rng.integers(0, 2**32, (3, 256), dtype=np.uint32),
             "index": rng.integers(0, 150, (3, 256), dtype=np.uint16)}, {}, {})
