# expect-error-line: 9
# `/` on a run-time value is float division, also in a comparison
import numpy as np
from hiss import kernel, Array


@kernel
def k(frame: Array[np.uint16, 4, 6], t: np.uint16) -> Array[np.bool_, 4, 6]:
    return frame > t / 2
