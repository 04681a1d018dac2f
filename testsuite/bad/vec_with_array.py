# expect-error-line: 10
import numpy as np
from hiss import kernel, Array, Vec


@kernel
def with_array(frame: Array[np.uint16, 8, 8], gain: Array[np.uint16, 8, 8]) -> Vec[np.uint16, 64]:
    hit = frame > 100
    # numpy: a selection of some elements cannot broadcast against the whole array
    return frame[hit] * gain
