import numpy as np
from hiss import kernel, Array

LIMIT = 1e18


@kernel
def big(frame: Array[np.uint64, 8, 16]) -> np.int64:
    return np.count_nonzero(frame > LIMIT)  # expect-error-line: 9
