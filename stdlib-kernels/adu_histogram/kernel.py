"""Per-frame ADU histogram.

The 14-bit ADC values of a frame in 256 bins of 64 ADU, gain bits ignored: the
spectrum a detector group looks at to check pedestals, noise and gain switching
while data are taken.

For: JUNGFRAU and other integrating detectors (calibration, monitoring).
"""

import numpy as np
from hiss import kernel, Array

H, W = 16, 32


@kernel
def adu_histogram(raw: Array[np.uint16, H, W]) -> Array[np.int64, 256]:
    adc = raw & 0x3FFF
    return np.bincount((adc >> 6).ravel(), minlength=256)
