"""Pedestal tracking on dark frames.

A JUNGFRAU pixel's gain-0 pedestal drifts with temperature. On dark frames the
kernel keeps, per pixel, an exponential running mean over about 2**K frames,
stored as 2**K times the pedestal (``acc``, a State): each gain-0 reading moves
it by (adc - pedestal); readings in gain 1 or 2 (a photon hit even in the dark)
leave it alone. The output is the frame with the current pedestal subtracted.
Start ``acc`` at a known pedestal times 2**K (``--state acc=FILE.npy``) or at
zero and let it settle.

For: JUNGFRAU dark runs between exposures; any integrating detector's offset.
"""

import numpy as np
from hiss import kernel, Array, State

H, W = 16, 32
K = 7


@kernel
def pedestal_track(raw: Array[np.uint16, H, W], acc: State[np.uint32, H, W]) -> Array[np.int32, H, W]:
    adc = raw & 0x3FFF
    dark = (raw >> 14) == 0
    pedestal = acc >> K
    acc[...] = np.where(dark, acc + adc - pedestal, acc)
    return adc.astype(np.int32) - pedestal.astype(np.int32)
