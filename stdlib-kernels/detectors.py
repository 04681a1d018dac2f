"""Seeded synthetic detector data for the beamline kernel library.

Realistic enough to exercise every branch of the kernels, small enough to
verify in GHDL, and the same code makes module-sized frames:

- ``jungfrau(rng, frames, shape)``: JUNGFRAU raw frames. Each pixel has three
  gain stages with their own pedestal (ADU) and gain (ADU/keV); photons of
  ``energy_kev`` arrive as a Poisson background plus Bragg spots; the charge
  switches the pixel to gain 1 and 2 when gain 0 saturates. A raw value holds the
  gain stage in bits 15-14 (0, 1 or 3) and the 14-bit ADC value below.
  Returns the raw frames (uint16) and the calibration as the kernels take it.
- ``eiger(rng, frames, shape)``: EIGER-like counting frames (uint16): a Poisson
  background, Bragg spots, a beam stop (a disk of zeros), hot pixels (always
  saturated) and dead pixels; returns the frames and the bad-pixel mask.

Run as a script to write .npy files:
``python3 stdlib-kernels/detectors.py jungfrau --frames 4 --shape 512 1024 --out DIR``.
"""

import argparse
import os

import numpy as np

# JUNGFRAU's three gain stages: typical gains (ADU/keV) and pedestals (ADU)
GAINS = (40.0, 1.5, 0.11)
PEDESTALS = (3000.0, 14500.0, 15000.0)
GAIN_BITS = (0, 1, 3)
SHIFT = 20  # the conversion factors are photons per ADU in units of 2**-SHIFT


def _spots(rng, shape, count, peak):
    """Bragg spots: Gaussian blobs of about `peak` photons at random positions."""
    h, w = shape
    y, x = np.indices(shape)
    out = np.zeros(shape)
    for _ in range(count):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        s = rng.uniform(0.6, 1.5)
        out += peak * rng.uniform(0.3, 1.0) * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * s * s))
    return out


def jungfrau_calibration(rng, shape):
    """Per-pixel pedestals (uint16, one array per gain) and gains (ADU/keV)."""
    peds = [np.clip(rng.normal(p, 0.03 * p, shape), 0, 16383).astype(np.uint16) for p in PEDESTALS]
    gains = [rng.normal(g, 0.02 * g, shape) for g in GAINS]
    return peds, gains


def conversion_factors(gains, energy_kev):
    """Photons per ADU for each gain, as uint32 in units of 2**-SHIFT."""
    return [np.round(2.0**SHIFT / (g * energy_kev)).astype(np.uint32) for g in gains]


def jungfrau(rng, frames, shape, energy_kev=12.0, rate=0.02, spots=3, peak=40, dark=False):
    """Raw frames and calibration (see the module's documentation)."""
    peds, gains = jungfrau_calibration(rng, shape)
    raw = np.empty((frames,) + tuple(shape), np.uint16)
    for f in range(frames):
        photons = np.zeros(shape) if dark else rng.poisson(rate + _spots(rng, shape, spots, peak))
        kev = photons * energy_kev
        noise = rng.normal(0, 3.0, shape)
        out = np.empty(shape, np.uint16)
        done = np.zeros(shape, bool)
        for g in range(3):
            adc = peds[g] + gains[g] * kev + noise
            fits = ~done & ((adc < 15500) | (g == 2))
            a = np.clip(np.round(adc), 0, 16383).astype(np.uint16)
            out[fits] = (GAIN_BITS[g] << 14) | a[fits]
            done |= fits
        raw[f] = out
    return raw, peds, conversion_factors(gains, energy_kev)


def eiger(rng, frames, shape, rate=0.5, spots=4, peak=300, hot=0.002, dead=0.002):
    """Counting frames and the bad-pixel mask (1 = bad)."""
    h, w = shape
    y, x = np.indices(shape)
    stop = (y - h / 2) ** 2 + (x - w / 2) ** 2 < (min(h, w) / 8) ** 2
    hot_px = rng.random(shape) < hot
    dead_px = rng.random(shape) < dead
    out = np.empty((frames,) + tuple(shape), np.uint16)
    for f in range(frames):
        c = rng.poisson(rate + _spots(rng, shape, spots, peak))
        c = np.clip(c, 0, 65535).astype(np.uint16)
        c[stop] = 0
        c[dead_px] = 0
        c[hot_px] = 65535
        out[f] = c
    return out, (hot_px | dead_px).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("detector", choices=["jungfrau", "eiger"])
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--shape", type=int, nargs=2, default=[512, 1024])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    if a.detector == "jungfrau":
        raw, peds, facs = jungfrau(rng, a.frames, tuple(a.shape))
        np.save(os.path.join(a.out, "raw.npy"), raw)
        for g in range(3):
            np.save(os.path.join(a.out, f"ped{g}.npy"), peds[g])
            np.save(os.path.join(a.out, f"fac{g}.npy"), facs[g])
    else:
        frames, mask = eiger(rng, a.frames, tuple(a.shape))
        np.save(os.path.join(a.out, "frame.npy"), frames)
        np.save(os.path.join(a.out, "mask.npy"), mask)


if __name__ == "__main__":
    main()


def radial_bins(shape, nbins, centre=None, mask=None):
    """A radial bin map: the distance from the beam centre in `nbins - 1` equal
    steps up to the farthest pixel; masked pixels in the last bin."""
    h, w = shape
    cy, cx = centre if centre is not None else (h / 2 - 0.5, w / 2 + 3.25)
    y, x = np.indices(shape)
    r = np.hypot(y - cy, x - cx)
    b = np.minimum((r / r.max() * (nbins - 1)).astype(np.int64), nbins - 2)
    if mask is not None:
        b[mask != 0] = nbins - 1
    return b.astype(np.uint16)


def roi_labels(shape):
    """Three rectangular regions of interest (labels 1-3) on background 0."""
    h, w = shape
    lab = np.zeros(shape, np.uint8)
    lab[1:h // 3, 2:w // 3] = 1
    lab[h // 2:h - 1, w // 4:w // 2] = 2
    lab[2:h - 2, 2 * w // 3:w - 1] = 3
    return lab
