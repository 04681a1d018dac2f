"""np.bincount of a boolean mask counts the Falses and the Trues (found by the
mutation fuzz: the mask reached the IR uncast)."""
import numpy as np
from hiss import kernel, Array, u12


@kernel
def bincount_bool(frame: Array[u12, 8, 8]) -> Array[np.int64, 4]:
    return np.bincount((frame > 2000).ravel(), minlength=4)
