"""Detector correction: subtract the pedestal, apply a fixed-point gain, clamp to 16 bits."""
import numpy as np
from hiss import kernel, Array, u12


def clamp16(x):
    return np.clip(x, 0, 65535).astype(np.uint16)


@kernel
def pedestal_gain(frame: Array[u12, 16, 16], pedestal: Array[np.uint16, 16, 16],
                  gain: np.uint16) -> Array[np.uint16, 16, 16]:
    d = frame.astype(np.int32) - pedestal.astype(np.int32)
    return clamp16((d * gain) >> 8)
