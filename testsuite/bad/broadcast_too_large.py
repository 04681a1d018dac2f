import numpy as np
from hiss import kernel, Array


@kernel
def outer(r: Array[np.uint8, 16777216], c: Array[np.uint8, 16777216]) -> np.uint64:
    return (r[None, :] + c[:, None]).sum()  # expect-error-line: 7
