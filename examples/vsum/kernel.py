"""A 3-row vertical sum (a stencil): each output row is the sum of three
neighbouring input rows. The two row buffers it needs are delay lines of a row
each, which hissc puts in block RAM (docs/hardware-interface.md)."""
import numpy as np
from hiss import kernel, Array


@kernel
def vsum(frame: Array[np.uint16, 8, 512]) -> Array[np.uint32, 6, 512]:
    f = frame.astype(np.uint32)
    return f[:-2] + f[1:-1] + f[2:]
