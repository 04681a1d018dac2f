import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np  # noqa: E402
import detectors  # noqa: E402


def make(rng):
    raw, peds, _ = detectors.jungfrau(rng, 6, (16, 32), dark=True)
    # a few pixels hit in the dark switch gain and must not move the pedestal
    raw[2, 3, 4] = (1 << 14) | 9000
    start = (peds[0].astype(np.uint32) << 7) + rng.integers(0, 4000, (16, 32), dtype=np.uint32)
    return {"raw": raw}, {}, {"acc": start}
