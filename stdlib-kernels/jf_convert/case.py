import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np  # noqa: E402
import detectors  # noqa: E402

KERNEL = "jf_convert"


def make(rng):
    raw, peds, facs = detectors.jungfrau(rng, 3, (16, 32), peak=600)
    inputs = {"raw": raw}
    for g in range(3):
        inputs[f"ped{g}"], inputs[f"fac{g}"] = peds[g], facs[g]
    return inputs, {}
