import numpy as np
from hiss import kernel, Array


@kernel
def scale(frame: Array[np.uint16, 4, 4], k: np.uint16) -> Array[np.uint16, 4, 4]:
    return frame // k  # expect-error-line: 7
