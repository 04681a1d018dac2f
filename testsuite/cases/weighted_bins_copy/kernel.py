import numpy as np
from hiss import kernel, Array


@kernel
def weighted_bins(values: Array[np.uint32, 256], index: Array[np.uint16, 256]) -> tuple[Array[np.float64, 100], Array[np.float64, 10, 10]]:
    """A weighted bincount's float64 counts copied and reshaped (found by the
    mutation fuzzer: a compiler bug before)."""
    counts = np.bincount(np.minimum(index, 99), weights=values, minlength=100)
    return counts.copy(), counts.reshape(10, 10)
