import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np  # noqa: E402
import detectors  # noqa: E402


def make(rng):
    hits = rng.poisson(0.05, (8, 16, 32)).astype(np.int32)
    hits[[1, 4, 6]] += rng.poisson(1.5, (3, 16, 32)).astype(np.int32)  # three hits
    return {"photons": hits}, {"t": 1, "min_lit": 60}
