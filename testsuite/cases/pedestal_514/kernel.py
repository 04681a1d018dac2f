import numpy as np
from hiss import kernel, Array


@kernel
def pedestal(frame: Array[np.uint16, 16, 514], ped: Array[np.uint16, 514]
             ) -> tuple[Array[np.int32, 16, 514], Array[np.uint16, 16]]:
    """A pedestal row taken off every row of an EIGER-wide frame (the row comes
    in over the whole frame on 8 or 32 lanes, so it is stored twice: one frame's
    read while the next one's arrives), and each row's largest value."""
    d = frame.astype(np.int32) - ped
    return d, frame.max(axis=1)
