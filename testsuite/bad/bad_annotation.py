import numpy as np
from hiss import kernel, Array


@kernel
def f(frame: Array[np.uint16, 4, 4]) -> tuple[np.uint16, np.uint1p]:  # expect-error-line: 6
    return frame.min(), frame.max()
