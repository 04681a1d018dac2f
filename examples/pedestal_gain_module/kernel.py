"""pedestal_gain of the conformance suite on a whole JUNGFRAU module
(512 x 1024 pixels): subtract the pedestal, scale by a gain in 1/256 steps,
clip to uint16."""
import numpy as np
from hiss import kernel, Array, u12


def clamp16(x):
    return np.clip(x, 0, 65535).astype(np.uint16)


@kernel
def pedestal_gain(frame: Array[u12, 512, 1024], pedestal: Array[np.uint16, 512, 1024],
                  gain: np.uint16) -> Array[np.uint16, 512, 1024]:
    d = frame.astype(np.int32) - pedestal.astype(np.int32)
    return clamp16((d * gain) >> 8)
