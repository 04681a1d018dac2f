import numpy as np
from hiss import kernel, Array


@kernel
def hist(frame: Array[np.uint16, 8, 8]) -> Array[np.int64, 3]:
    counts, _ = np.histogram(frame, bins=3, range=(0, 100))  # expect-error-line: 7
    return counts
