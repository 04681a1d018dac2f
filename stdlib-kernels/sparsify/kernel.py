"""Sparsification: the flat index and value of every pixel with photons.

For Bragg data about one pixel in a hundred carries photons; storing (index,
value) pairs instead of the frame is ~100 x less data, and the frame is rebuilt
exactly on the host (``np.put``). Outputs are variable-length (``Vec``): for a
batch, ``out0.npy``/``out1.npy`` hold every frame's pairs and
``out0_offsets.npy`` where each frame starts.

For: JUNGFRAU after ``jf_convert`` (photons), EIGER counting frames.
"""

import numpy as np
from hiss import kernel, Array, Vec

H, W = 16, 32


@kernel
def sparsify(photons: Array[np.int32, H, W], t: np.int32
             ) -> tuple[Vec[np.int64, H * W], Vec[np.int32, H * W]]:
    hit = photons >= t
    return np.flatnonzero(hit), photons[hit]
