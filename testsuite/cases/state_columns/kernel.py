import numpy as np
from hiss import kernel, Array, State


@kernel
def columns(frame: Array[np.uint16, 8, 16], total: State[np.uint64, 16],
            frames: State[np.uint32]) -> tuple[Array[np.uint64, 16], np.uint32]:
    """Column sums accumulated over frames (the state read in step with an axis
    reduction), and a frame counter (a 0-d state read at the frame's start)."""
    new = total + frame.sum(axis=0)
    total[...] = new
    seen = frames + np.uint32(1)
    frames[...] = seen
    return new, seen
