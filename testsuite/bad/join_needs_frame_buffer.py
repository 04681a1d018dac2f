# expect-error-line: 8
import numpy as np
from hiss import kernel, Array


@kernel
def joined(a: Array[np.uint16, 16, 16], b: Array[np.uint16, 16, 16]) -> Array[np.uint16, 32, 16]:
    return np.concatenate([a, b], axis=0)
