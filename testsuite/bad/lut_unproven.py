import numpy as np
from hiss import kernel, Array

LUT = np.array([0, 1, 4, 9, 16, 25, 36, 49], dtype=np.uint8)


@kernel
def squares(frame: Array[np.uint8, 4, 4]) -> Array[np.uint8, 4, 4]:
    return LUT[frame]  # expect-error-line: 9
