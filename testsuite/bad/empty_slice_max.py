# expect-error-line: 8
import numpy as np
from hiss import kernel, Array


@kernel
def peak(frame: Array[np.uint16, 4, 6]) -> np.uint16:
    return frame[:, 6:].max()
