import numpy as np
import os
from hiss import kernel, Array


@kernel
def messy(frame: Array[np.uint16, 4, 4], k) -> np.uint64:  # expect-error-line: 7
    total = frame.sum()
    while total > 10:
        total = total >> 1
    print(total)
    return total / 2
