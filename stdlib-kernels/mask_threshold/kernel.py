"""Bad-pixel mask, threshold and saturation count.

Pixels flagged in the mask (hot, dead, gaps) and pixels at or below the
threshold ``t`` become 0; the second output counts the good pixels at or above
``sat`` (saturated, or near it), a quick check that the exposure is sane.

For: EIGER and other counting detectors, before compression or sparsification.
"""

import numpy as np
from hiss import kernel, Array

H, W = 16, 32


@kernel
def mask_threshold(frame: Array[np.uint16, H, W], mask: Array[np.uint8, H, W],
                   t: np.uint16, sat: np.uint16) -> tuple[Array[np.uint16, H, W], np.int64]:
    good = mask == 0
    out = np.where(good & (frame > t), frame, np.uint16(0))
    return out, np.count_nonzero(good & (frame >= sat))
