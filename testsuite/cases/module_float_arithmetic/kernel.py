# Python float arithmetic on constants is exact IEEE in CPython: hissc folds it
# (at module level and in a comparison) and compares exactly, as for any float
# constant (issue 23 item 8: hissc refused all of these)
import numpy as np
from hiss import kernel, Array

E_PHOTON = 12.4
HALF = 0.5 * E_PHOTON
THIRD = E_PHOTON / 3
N = 7 / 2


@kernel
def k(frame: Array[np.uint16, 4, 6]) -> tuple[Array[np.bool_, 4, 6], Array[np.bool_, 4, 6],
                                             Array[np.int64, 4, 6], Array[np.bool_, 4, 6]]:
    photons = frame >= HALF
    return photons, frame < 1.5 * E_PHOTON - THIRD, np.where(frame > N, 1, 0), frame >= 3 * E_PHOTON / 2
