import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np  # noqa: E402
import detectors  # noqa: E402


def make(rng):
    raw, _, _ = detectors.jungfrau(rng, 3, (16, 32), peak=600)
    return {"raw": raw}, {}
