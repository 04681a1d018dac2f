import numpy as np
from hiss import kernel, Array


@kernel
def add(frame: Array[np.uint8, 4, 4]) -> Array[np.uint8, 4, 4]:
    return frame + 300  # expect-error-line: 7
