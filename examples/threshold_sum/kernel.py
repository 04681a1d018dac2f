"""Total intensity of the pixels above a noise threshold."""
import numpy as np
from hiss import kernel, Array


@kernel
def threshold_sum(frame: Array[np.uint16, 32, 32], t: np.uint16) -> np.uint64:
    return np.where(frame > t, frame, 0).sum()
