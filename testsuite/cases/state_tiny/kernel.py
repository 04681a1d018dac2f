import numpy as np
from hiss import kernel, Array, State


@kernel
def tiny(frame: Array[np.uint8, 2], acc: State[np.uint32, 2]) -> Array[np.uint32, 2]:
    """A frame of two elements and a state update several stages deep: the frame
    period stretches so that each write lands before the next frame reads."""
    mixed = (acc * np.uint32(3) + frame) % np.uint32(1000)
    new = np.where(mixed > 500, mixed - np.uint32(7), mixed ^ np.uint32(5))
    acc[...] = new
    return new + frame
