import numpy as np
from hiss import kernel, Array


@kernel
def centred(frame: Array[np.int16, 4, 4], pedestal: Array[np.int16, 4, 6]
            ) -> tuple[Array[np.int16, 4, 4], Array[np.int64, 4, 6]]:
    """A frame's minimum subtracted from the same frame (a frame buffer: once
    rejected as HS0401), and each row's mean from its own row (a row buffer)."""
    rows = pedestal.astype(np.int64)
    return frame - frame.min(), rows - rows.sum(axis=1, keepdims=True) // 6
