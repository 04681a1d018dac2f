"""Lit-pixel veto: keep a frame only if enough pixels saw photons.

Counts the pixels with at least ``t`` photons and decides whether the frame is
worth storing (at least ``min_lit`` of them). The decision is the first output:
attach the kernel to a HISS node with ``hiss-keep: out0`` and only kept frames
are stored, while every frame's count goes back to the instrument as an event.
Chain it after ``jf_convert`` (converted photons) or feed it counting frames.

For: serial crystallography and single-particle imaging, where most pulses miss.
"""

import numpy as np
from hiss import kernel, Array

H, W = 16, 32


@kernel
def lit_pixel_veto(photons: Array[np.int32, H, W], t: np.int32, min_lit: np.int64
                   ) -> tuple[np.bool_, np.int64]:
    lit = np.count_nonzero(photons >= t)
    return lit >= min_lit, lit
