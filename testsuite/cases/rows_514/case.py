import numpy as np


def make(rng):
    frame = rng.integers(0, 4096, (3, 16, 514), dtype=np.uint16)
    frame[1, 5] = 4095  # a row that is all hot
    frame[0, 3, 513] = 65000  # a peak on a row's last pixel
    frame[0, 4, 0] = 65000  # and on its first, in the same cycle on 8 lanes
    frame[2, 7, [100, 400]] = 60000  # a tie: numpy's first
    return {"frame": frame}, {"t": 4000}
