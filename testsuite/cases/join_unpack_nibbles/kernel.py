import numpy as np
from hiss import kernel, Array


@kernel
def unpack(p: Array[np.uint8, 4, 5]) -> tuple[Array[np.uint8, 4, 10], Array[np.uint8, 4, 5], np.uint64]:
    """EIGER's 4-bit mode: two pixels in each byte, low nibble first; and each
    row's halves swapped. The unpacked frame has twice the elements of the
    packed one, so a frame takes 40 cycles, not 20."""
    pixels = np.stack([p & 0xF, p >> 4], axis=2).reshape(4, 10)
    swapped = np.concatenate([p[:, 3:], p[:, :3]], axis=1)
    return pixels, swapped, pixels.sum()
