"""JUNGFRAU conversion: raw frames to photon counts.

A JUNGFRAU pixel reports its gain stage in bits 15-14 (0, 1, or 3 for gain 2)
and a 14-bit ADC value. Each pixel has its own pedestal and gain per stage, so
the energy is E = (adc - P[g]) / G[g]; in photons of energy E0 that is
(adc - P[g]) * F[g] with F[g] = 1 / (G[g] * E0). The factors come as integers in
units of 2**-20 (``detectors.conversion_factors``) and the result is rounded to
the nearest photon: ((adc - P[g]) * F[g] + 2**19) >> 20.

For: JUNGFRAU 0.5M modules (512 x 1024), and any detector with per-pixel
multi-gain calibration. ``jf_convert`` is a 16 x 32 tile (checked in every
stage and in GHDL); ``jf_convert_module`` a whole module.
"""

import numpy as np
from hiss import kernel, Array, u14, u20

H, W = 16, 32
SHIFT = 20


def convert(raw, ped0, ped1, ped2, fac0, fac1, fac2):
    gain = raw >> 14  # 0, 1, or 3 for gain stage 2
    adc = (raw & 0x3FFF).astype(np.int64)
    ped = np.where(gain == 0, ped0, np.where(gain == 1, ped1, ped2)).astype(np.int64)
    fac = np.where(gain == 0, fac0, np.where(gain == 1, fac1, fac2)).astype(np.int64)
    return (((adc - ped) * fac + (1 << (SHIFT - 1))) >> SHIFT).astype(np.int32)


@kernel
def jf_convert(raw: Array[np.uint16, H, W],
               ped0: Array[u14, H, W], ped1: Array[u14, H, W], ped2: Array[u14, H, W],
               fac0: Array[u20, H, W], fac1: Array[u20, H, W], fac2: Array[u20, H, W]
               ) -> Array[np.int32, H, W]:
    return convert(raw, ped0, ped1, ped2, fac0, fac1, fac2)


@kernel
def jf_convert_module(raw: Array[np.uint16, 512, 1024],
                      ped0: Array[u14, 512, 1024], ped1: Array[u14, 512, 1024], ped2: Array[u14, 512, 1024],
                      fac0: Array[u20, 512, 1024], fac1: Array[u20, 512, 1024], fac2: Array[u20, 512, 1024]
                      ) -> Array[np.int32, 512, 1024]:
    return convert(raw, ped0, ped1, ped2, fac0, fac1, fac2)
