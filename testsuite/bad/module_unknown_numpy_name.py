import numpy as np
from hiss import kernel, Array

LUT = np.array([0, 1, 4, 9], dtype=np.uint88)  # expect-error-line: 4


@kernel
def squares(frame: Array[np.uint8, 4, 4]) -> Array[np.uint8, 4, 4]:
    return LUT[frame & 3]
