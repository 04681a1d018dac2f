"""Azimuthal integration: the radial profile of a frame.

Each pixel belongs to one radial bin of a precomputed integer map (from the
beam centre, the detector distance and the pixel size; masked pixels go to the
last bin, which the host ignores). Per bin the kernel sums the signal and counts
the pixels, as pyFAI's CSR integrator does without pixel splitting; the host
divides the one by the other. The sums are numpy's float64 of a weighted
``np.bincount``, exact here (they stay below 2**53).

For: SAXS/WAXS and powder diffraction on any area detector; the map is an
input the node reads once (``.hiss/in/bins.npy``).
"""

import numpy as np
from hiss import kernel, Array, u6, u9

H, W = 16, 32
NB = 64


@kernel
def azimuthal_integration(frame: Array[np.uint16, H, W], bins: Array[u6, H, W]
                          ) -> tuple[Array[np.float64, NB], Array[np.int64, NB]]:
    b = bins.ravel()
    return np.bincount(b, weights=frame.ravel(), minlength=NB), np.bincount(b, minlength=NB)


@kernel
def azimuthal_integration_module(frame: Array[np.uint16, 512, 1024], bins: Array[u9, 512, 1024]
                                 ) -> tuple[Array[np.float64, 512], Array[np.int64, 512]]:
    b = bins.ravel()
    return np.bincount(b, weights=frame.ravel(), minlength=512), np.bincount(b, minlength=512)
