import numpy as np
def make(rng):
    return ({"frame": rng.integers(-32768, 32768, (3, 4, 8), dtype=np.int16)}, {}, {})
