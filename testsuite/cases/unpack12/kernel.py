import numpy as np
from hiss import kernel, Array


@kernel
def unpack12(packed: Array[np.uint8, 6, 48], row: Array[np.uint16, 6, 32]
             ) -> tuple[Array[np.uint16, 6, 32], Array[np.uint16, 2, 32]]:
    """12-bit pixels packed two in three bytes, unpacked with np.stack (the
    interleaving of two columns of one frame); and rows of a frame joined with
    np.concatenate in the order they arrive."""
    b = packed.reshape(96, 3).astype(np.uint16)
    p0 = b[:, 0] | ((b[:, 1] & 0xF) << 8)
    p1 = (b[:, 1] >> 4) | (b[:, 2] << 4)
    pixels = np.stack([p0, p1], axis=1).reshape(6, 32)
    return pixels, np.concatenate([row[1:2], row[4:5]], axis=0)
