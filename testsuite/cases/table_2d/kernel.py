import numpy as np
from hiss import kernel, Array

# a gain per (gain stage, ADC code >> 10): JUNGFRAU-like, three stages
GAIN = np.array([[40, 41, 42, 43], [1, 2, 2, 3], [7, 7, 8, 9]], dtype=np.uint16)
WEIGHT = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint8)


@kernel
def table2d(frame: Array[np.uint16, 2, 3], code: Array[np.uint16, 8]) -> tuple[
        Array[np.uint32, 2, 3], Array[np.uint16, 8], Array[np.uint16, 8], np.uint64, np.int64]:
    """A 2-D module-level table: whole (elementwise with the frame), one row
    indexed by a run-time value (`GAIN[1][x]`, `GAIN[2, x]`), single elements,
    and its rows in a loop."""
    weighted = frame.astype(np.uint32) * WEIGHT
    adc = code >> 14
    g1 = GAIN[1][adc]
    g2 = GAIN[2, adc] + GAIN[0, -1]
    total = np.uint64(0)
    for row in GAIN:
        total = total + np.uint64(row[0]) * code.sum()
    return weighted, g1, g2, total, frame.astype(np.int64).sum() * np.int64(len(GAIN)) + np.int64(GAIN.shape[1])
