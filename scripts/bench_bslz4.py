#!/usr/bin/env python3
"""bitshuffle-LZ4 speed: hiss's codec against the bitshuffle C library (the HDF5
filter 32008's code, PyPI `bitshuffle`), side by side on the same EIGER-like
frames (514 x 1030 uint16, Poisson counts with a few saturated pixels).

    python3 scripts/bench_bslz4.py [--frames 50] [--repeat 7]

Both run on one core (OMP_NUM_THREADS=1 for the C library); each figure is the
fastest of `--repeat` passes over all frames, in GB/s of uncompressed bytes.
hiss's side is `cargo run --release -p hiss-runtime --example bslz4_bench`.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ["OMP_NUM_THREADS"] = "1"
import numpy as np  # noqa: E402

try:
    import bitshuffle  # noqa: E402
except ImportError:
    sys.exit("needs the bitshuffle C library: pip install bitshuffle")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    frames = rng.poisson(0.3, (args.frames, 514, 1030)).astype(np.uint16)
    frames[rng.random(frames.shape) < 1e-4] = 65535
    flat = frames.reshape(-1)
    block = 4096
    enc = dec = float("inf")
    for _ in range(args.repeat):
        t = time.perf_counter()
        packed = bitshuffle.compress_lz4(flat, block)
        enc = min(enc, time.perf_counter() - t)
        t = time.perf_counter()
        back = bitshuffle.decompress_lz4(packed, flat.shape, flat.dtype, block)
        dec = min(dec, time.perf_counter() - t)
    assert np.array_equal(back, flat)
    with tempfile.NamedTemporaryFile(suffix=".raw") as f:
        f.write(flat.tobytes())
        f.flush()
        out = subprocess.run(
            ["cargo", "run", "--quiet", "--release", "-p", "hiss-runtime", "--example", "bslz4_bench", "--",
             f.name, "2", str(args.repeat)],
            cwd=ROOT, check=True, capture_output=True, text=True).stdout
    ours = json.loads(out)
    gb = flat.nbytes / 1e9
    rows = [
        ("bitshuffle C library", gb / enc, gb / dec, flat.nbytes / packed.nbytes),
        ("hiss", gb / ours["encode_s"], gb / ours["decode_s"], ours["bytes"] / ours["compressed"]),
    ]
    print(f"{args.frames} frames of 514 x 1030 uint16 ({flat.nbytes / 1e6:.0f} MB), one core, best of {args.repeat}")
    print(f"{'':22} {'encode GB/s':>12} {'decode GB/s':>12} {'ratio':>7}")
    for name, e, d, r in rows:
        print(f"{name:22} {e:12.2f} {d:12.2f} {r:7.2f}")
    print(f"hiss / C: encode {rows[1][1] / rows[0][1]:.2f}x, decode {rows[1][2] / rows[0][2]:.2f}x")


if __name__ == "__main__":
    main()
