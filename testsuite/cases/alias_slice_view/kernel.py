import numpy as np
from hiss import kernel, Array


@kernel
def k(frame: Array[np.uint16, 6, 10]) -> tuple[Array[np.int32, 6, 10], Array[np.int32, 2, 4]]:
    """A region of interest is a view: writing into it writes into the image."""
    img = frame.astype(np.int32)
    roi = img[2:4, 3:7]
    roi -= 100
    return img, roi
