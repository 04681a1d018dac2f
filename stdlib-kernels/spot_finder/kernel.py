"""Spot finding: strong pixels by a dispersion criterion.

As DIALS's dispersion spot finder does, a pixel is strong when, over its 3 x 3
neighbourhood (n = 9 pixels, sums S1 of I and S2 of I**2):

- it is above the local mean by more than sigma_s = 3 standard deviations:
  I - S1/n > 3 * sqrt(var), var = (n*S2 - S1**2) / (n*(n-1));
- the neighbourhood is dispersed, not just noisy: var / mean > 1 + sigma_b *
  sqrt(2 / (n - 1)) = 4 for sigma_b = 6;
- and above an absolute threshold ``t``.

Both tests are written in integers (squared, multiplied out), so hardware and
numpy agree exactly. Outputs: the strong-pixel mask of the interior pixels and
how many there are.

For: serial crystallography hit finding on JUNGFRAU (converted photons) or EIGER.
"""

import numpy as np
from hiss import kernel, Array

H, W = 16, 32


def window(a):
    """Sums over the 3 x 3 neighbourhood of every interior pixel."""
    return (a[0:-2, 0:-2] + a[0:-2, 1:-1] + a[0:-2, 2:]
            + a[1:-1, 0:-2] + a[1:-1, 1:-1] + a[1:-1, 2:]
            + a[2:, 0:-2] + a[2:, 1:-1] + a[2:, 2:])


def strong(frame, t):
    i = frame.astype(np.int64)
    s1 = window(i)
    s2 = window(i * i)
    c = i[1:-1, 1:-1]
    d = 9 * c - s1              # 9 * (I - mean)
    var9 = 9 * s2 - s1 * s1     # n * (n - 1) * var
    above = (d > 0) & (8 * d * d > 81 * var9)
    dispersed = var9 > 32 * s1
    hit = above & dispersed & (c > t)
    return hit, np.count_nonzero(hit)


@kernel
def spot_finder(frame: Array[np.uint16, H, W], t: np.uint16
                ) -> tuple[Array[np.bool_, H - 2, W - 2], np.int64]:
    return strong(frame, t)


@kernel
def spot_finder_module(frame: Array[np.uint16, 512, 1024], t: np.uint16
                       ) -> tuple[Array[np.bool_, 510, 1022], np.int64]:
    return strong(frame, t)
