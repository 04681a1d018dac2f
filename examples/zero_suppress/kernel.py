"""Zero suppression: pixels below the threshold become 0, so the frame compresses well."""
import numpy as np
from hiss import kernel, Array


@kernel
def zero_suppress(frame: Array[np.uint16, 16, 48], t: np.uint16) -> Array[np.uint16, 16, 48]:
    return np.where(frame >= t, frame, 0)
