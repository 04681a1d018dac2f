import numpy as np
from hiss import kernel, Array


@kernel
def rows(frame: Array[np.uint16, 4, 514]) -> tuple[np.uint64, np.uint64, np.uint64, np.uint16, Array[np.uint16, 514]]:
    """Rows and pieces of rows of a 514-wide frame (JUNGFRAU's row width): the
    lanes run across row ends, so each selection is a slice of the flat frame."""
    first = frame[0].sum()
    middle = frame[2, 5:300].sum() + frame[1:3].sum()
    even = frame[3, ::2].sum()
    return first, middle, even, frame.max(), frame[1] + 1
