"""`import hiss` and the names through it (`@hiss.kernel`, `hiss.Array`,
`hiss.u12`), and `typing.Tuple` for the return annotation."""
from typing import Tuple

import numpy as np
import hiss


@hiss.kernel
def k(frame: hiss.Array[hiss.u12, 4, 6], t: np.uint16) -> Tuple[np.uint64, hiss.Array[np.uint16, 4, 6]]:
    hot = np.where(frame > t, frame, 0)
    return hot.sum(), hot
