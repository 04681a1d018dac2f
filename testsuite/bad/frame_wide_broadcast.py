import numpy as np
from hiss import kernel, Array


@kernel
def centred(frame: Array[np.int16, 4, 4]) -> Array[np.int16, 4, 4]:
    return frame - frame.min()  # expect-error-line: 7
