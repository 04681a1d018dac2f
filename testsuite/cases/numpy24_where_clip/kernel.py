# numpy 2.4 (what setup installs): np.where converts a Python int that the
# array's dtype cannot hold as C does (-1 into uint16 is 65535, 70000 is 4464),
# and np.clip takes a Python int bound beyond the dtype, on the side no element
# reaches, as no bound (issue 23 item 7: hissc refused all four)
import numpy as np
from hiss import kernel, Array


@kernel
def k(frame: Array[np.uint16, 4, 6], good: Array[np.bool_, 4, 6], s: Array[np.int8, 4, 6]) -> tuple[
        Array[np.uint16, 4, 6], Array[np.uint16, 4, 6], Array[np.uint16, 4, 6], Array[np.uint16, 4, 6],
        Array[np.int8, 4, 6], Array[np.int8, 4, 6]]:
    return (np.where(good, frame, -1), np.clip(frame, -5, 1000), np.clip(frame, 3, 70000),
            np.where(good, 70000, frame), np.where(good, s, 300), np.clip(s, -200, 2))
