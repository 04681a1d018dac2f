"""`from hiss import *`, and an `if __name__ == "__main__":` block, which does
not run when the file is imported."""
import numpy as np
from hiss import *


@kernel
def k(frame: Array[u14, 4, 6]) -> Array[np.int64, 4]:
    return frame.astype(np.int32).sum(axis=1) - 7


if __name__ == "__main__":
    print(k(np.arange(24, dtype=np.uint16).reshape(4, 6)))
