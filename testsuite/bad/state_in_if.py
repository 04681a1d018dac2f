# expect-error-line: 10
import numpy as np
from hiss import kernel, Array, State


@kernel
def in_if(frame: Array[np.uint16, 8, 8], on: np.bool_, acc: State[np.uint32, 8, 8]) -> np.uint64:
    s = frame.sum()
    if on:
        acc[...] = acc + frame
    return s
