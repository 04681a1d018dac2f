import numpy as np
from hiss import kernel, Array


@kernel
def big(frame: Array[np.uint8, 100000, 100000]) -> np.uint64:  # expect-error-line: 6
    return frame.sum()
