import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np  # noqa: E402
import detectors  # noqa: E402


def make(rng):
    p = rng.poisson(0.03, (5, 16, 32)).astype(np.int32)
    p[2] = 0   # an empty frame
    p[3] += 1  # every pixel selected
    return {"photons": p}, {"t": 1}
