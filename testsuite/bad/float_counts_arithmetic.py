# expect-error-line: 9
import numpy as np
from hiss import kernel, Array


@kernel
def k(values: Array[np.uint32, 256], index: Array[np.uint16, 256]) -> Array[np.float64, 100]:
    counts = np.bincount(np.minimum(index, 99), weights=values, minlength=100)
    return counts + 1
