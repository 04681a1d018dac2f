# expect-error-line: 9
import numpy as np
from hiss import kernel, Array


@kernel
def reduced(frame: Array[np.uint16, 8, 8]) -> np.uint64:
    # the sum of a selection: write np.where(frame > 100, frame, 0).sum()
    return frame[frame > 100].sum()
