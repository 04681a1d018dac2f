"""32-bit floor division and modulo by constants (issue 10, item 3): the
multiplier constants are wider than 32 bits, which GHDL 2.0 writes as Verilog
strings; the build repairs them."""
import numpy as np
from hiss import kernel, Array


@kernel
def wide_divide(x: Array[np.int32, 8, 8], u: Array[np.uint32, 8, 8]) -> tuple[Array[np.int32, 8, 8], Array[np.uint32, 8, 8], Array[np.int32, 8, 8]]:
    return x // 3, u // 192, x % 1000
