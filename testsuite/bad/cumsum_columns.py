# expect-error-line: 8
import numpy as np
from hiss import kernel, Array


@kernel
def k(frame: Array[np.uint16, 4, 6]) -> Array[np.uint64, 4, 6]:
    return np.cumsum(frame, axis=0)
