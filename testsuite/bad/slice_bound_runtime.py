import numpy as np
from hiss import kernel, Array


@kernel
def roi(frame: Array[np.uint16, 8, 16], x0: np.uint8) -> np.uint64:
    return frame[:, x0:x0 + 4].sum()  # expect-error-line: 7
