import numpy as np
from hiss import kernel, Array


@kernel
def k(frame: Array[np.int32, 6, 8]) -> tuple[Array[np.int32, 6, 8], Array[np.int32, 6, 8], Array[np.int32, 24], Array[np.int32, 24], np.int64]:
    """What copies and what shares: astype, copy, arithmetic and a non-contiguous
    ravel copy; a contiguous reshape and a row slice share."""
    a = frame.astype(np.int32)        # a copy, even to its own dtype
    b = a.copy()
    c = a[:, 2:6].ravel()             # columns are not contiguous: a copy
    d = a[1:4].reshape(24)            # rows are: a view
    e = a * 1
    a += 5
    d *= 2
    c -= 1
    a[2:4, 1:7:2] = 7
    a[0, 0] += 1000
    return a, b, c, d, e.sum()
