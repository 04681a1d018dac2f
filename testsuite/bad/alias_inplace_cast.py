# expect-error-line: 9
import numpy as np
from hiss import kernel, Array


@kernel
def k(frame: Array[np.uint8, 8, 8], d: Array[np.int16, 8, 8]) -> Array[np.uint8, 8, 8]:
    roi = frame[2:6]
    roi += d[2:6]
    return frame
