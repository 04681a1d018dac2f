# expect-error-line: 13
import numpy as np
from hiss import kernel, Array


@kernel
def k(frame: Array[np.uint16, 8, 8], t: np.uint16) -> Array[np.uint16, 8, 8]:
    img = frame.copy()
    if frame.sum() > t:
        part = img[:4]
    else:
        part = img[4:]
    part += 1
    return img
