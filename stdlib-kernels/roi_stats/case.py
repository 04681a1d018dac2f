import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np  # noqa: E402
import detectors  # noqa: E402


def make(rng):
    frames, _ = detectors.eiger(rng, 3, (16, 32), hot=0.0)
    return {"frame": frames, "labels": detectors.roi_labels((16, 32))}, {}
