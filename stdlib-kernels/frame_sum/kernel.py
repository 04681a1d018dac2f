"""Sum of N frames, and 2 x 2 binning.

The running sum lives in a State; every N-th frame the sum is complete (the
``done`` output is True) and starts over. The first output is the running sum
binned 2 x 2, so with ``hiss-keep: out1`` a HISS node stores one binned sum per
N frames: N x 4 times less data, the counts kept exact.

For: EIGER counting frames at high rates (summing down to the storage rate), and
slow scans where single frames are too weak.
"""

import numpy as np
from hiss import kernel, Array, State

H, W = 16, 32
N = 4


def bin2(a):
    return a[0::2, 0::2] + a[0::2, 1::2] + a[1::2, 0::2] + a[1::2, 1::2]


@kernel
def frame_sum(frame: Array[np.uint16, H, W], total: State[np.uint32, H, W],
              n: State[np.uint32]) -> tuple[Array[np.uint32, H // 2, W // 2], np.bool_]:
    s = total + frame
    done = n == N - 1
    total[...] = np.where(done, np.uint32(0), s)
    n[...] = np.where(done, np.uint32(0), n + np.uint32(1))
    return bin2(s), done
