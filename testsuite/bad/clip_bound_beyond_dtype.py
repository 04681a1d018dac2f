# expect-error-line: 9
# numpy 2.4 raises OverflowError for a lower bound above every uint16
import numpy as np
from hiss import kernel, Array


@kernel
def k(frame: Array[np.uint16, 4, 6]) -> Array[np.uint16, 4, 6]:
    return np.clip(frame, 70000, 80000)
