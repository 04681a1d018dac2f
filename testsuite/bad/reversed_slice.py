import numpy as np
from hiss import kernel, Array


@kernel
def flip(frame: Array[np.uint8, 4, 4]) -> Array[np.uint8, 4, 4]:
    return frame[::-1, :]  # expect-error-line: 7
