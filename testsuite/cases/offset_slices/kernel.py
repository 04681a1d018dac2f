"""Offset slices of one frame compared with each other (issue 10, item 1): a
4-neighbour local maximum, the pattern of a peak finder. With lanes, every
shifted view moves elements between lanes."""
import numpy as np
from hiss import kernel, Array


@kernel
def peaks(frame: Array[np.uint16, 8, 16]) -> tuple[Array[np.bool_, 4, 15], Array[np.bool_, 6, 14]]:
    left = frame[:4, 1:16] > frame[:4, 0:15]
    c = frame[1:7, 1:15]
    peak = (c > frame[0:6, 1:15]) & (c >= frame[2:8, 1:15]) & (c > frame[1:7, 0:14]) & (c >= frame[1:7, 2:16])
    return left, peak
