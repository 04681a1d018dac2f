import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np  # noqa: E402
import detectors  # noqa: E402


def make(rng):
    frames, _ = detectors.eiger(rng, 9, (16, 32))
    return {"frame": frames}, {}
