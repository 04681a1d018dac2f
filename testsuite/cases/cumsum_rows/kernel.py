import numpy as np
from hiss import kernel, Array


@kernel
def k(frame: Array[np.int16, 4, 6], hits: Array[np.bool_, 4, 6]) -> tuple[Array[np.int64, 4, 6], Array[np.int64, 4, 6], Array[np.bool_, 4, 6]]:
    """Running sums along the rows (`axis=1`, `axis=-1`, the method too), and
    `astype(bool)` / `astype(int)` with Python's types as numpy takes them."""
    return np.cumsum(frame, axis=1), hits.astype(int).cumsum(axis=-1), frame.astype(bool)
