import numpy as np
from hiss import kernel, Array

GAIN = 1.5


@kernel
def scale(frame: Array[np.uint16, 8, 16]) -> Array[np.uint16, 8, 16]:
    return frame * GAIN  # expect-error-line: 9
