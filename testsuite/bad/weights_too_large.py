import numpy as np
from hiss import kernel, Array, u4


@kernel
def sums(index: Array[u4, 4096, 1024], w: Array[np.uint32, 4096, 1024]) -> Array[np.float64, 16]:
    return np.bincount(index.ravel(), weights=w.ravel(), minlength=16)  # expect-error-line: 7
