import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np  # noqa: E402
import detectors  # noqa: E402

KERNEL = "spot_finder"


def make(rng):
    frames, _ = detectors.eiger(rng, 3, (16, 32), rate=2.0, spots=5, peak=80, hot=0.0)
    return {"frame": frames}, {"t": 3}
