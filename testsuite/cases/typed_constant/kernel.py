"""Typed module-level constants (issue 10, item 8): `np.uint16(4095)` keeps its
dtype (it is not a weak Python int)."""
import numpy as np
from hiss import kernel, Array

SAT = np.uint16(4095)
LIMITS = (np.int8(-5), np.int8(5))


@kernel
def typed_constant(frame: Array[np.uint16, 8, 16], d: Array[np.int8, 8, 16]) -> tuple[Array[np.uint16, 8, 16], Array[np.int8, 8, 16], Array[np.uint16, 8, 16]]:
    lo, hi = LIMITS
    return np.minimum(frame, SAT), np.clip(d, lo, hi), frame + SAT
