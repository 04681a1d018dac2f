import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np  # noqa: E402
import detectors  # noqa: E402

KERNEL = "azimuthal_integration"


def make(rng):
    frames, mask = detectors.eiger(rng, 3, (16, 32))
    return {"frame": frames, "bins": detectors.radial_bins((16, 32), 64, mask=mask).astype(np.uint8)}, {}
