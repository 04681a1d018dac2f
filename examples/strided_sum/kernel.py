"""Sum of every third sample of a region of a 1-d signal (a 1-d strided slice)."""
import numpy as np
from hiss import kernel, Array


@kernel
def strided_sum(signal: Array[np.uint8, 64]) -> np.uint64:
    return signal[4:50:3].sum()
