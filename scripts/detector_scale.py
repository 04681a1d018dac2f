#!/usr/bin/env python3
"""Detector-sized frames on the iCE40 HX8K: builds examples/vsum (a 3-row
stencil on 8 x 512), examples/box3x3 (a 3x3 box sum on 64 x 1024) and
examples/pedestal_gain_module (512 x 1024, a JUNGFRAU module) with
`hissc build --target ice40-hx8k`, checks each synthesized netlist with
`hissc verify --netlist` on a frame of its example inputs, and writes the
table into docs/performance.md.

    python3 scripts/detector_scale.py [--hissc target/release/hissc]

A benchmark, not a test: a few minutes (the module's netlist replays 524,288
cycles in GHDL). CI builds and netlist-checks the first two
(testsuite/tests/build.rs).
"""
import argparse
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mdsection import replace_section  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = ["vsum", "box3x3", "pedestal_gain_module"]


def inputs_of(example):
    spec = importlib.util.spec_from_file_location("inputs_" + example,
                                                  os.path.join(ROOT, "examples", example, "inputs.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.make(np.random.default_rng(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hissc", default=os.path.join(ROOT, "target/release/hissc"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/performance.md"))
    a = ap.parse_args()
    rows = []
    t0 = time.time()
    with tempfile.TemporaryDirectory() as work:
        for ex in EXAMPLES:
            kernel = os.path.join(ROOT, "examples", ex, "kernel.py")
            d = os.path.join(work, ex)
            b = subprocess.run([a.hissc, "build", kernel, "--target", "ice40-hx8k", "-o", d],
                               capture_output=True, text=True)
            if b.returncode != 0:
                sys.exit(f"{ex}: build failed\n{b.stderr}")
            r = json.load(open(os.path.join(d, "report.json")))
            arrays, params = inputs_of(ex)
            args = [a.hissc, "verify", "--netlist", kernel]
            for name, arr in arrays.items():
                p = os.path.join(work, f"{ex}-{name}.npy")
                np.save(p, arr)
                args += ["--in", f"{name}={p}"]
            for name, v in params.items():
                args += ["--param", f"{name}={v}"]
            t = time.time()
            v = subprocess.run(args, capture_output=True, text=True)
            if v.returncode != 0:
                sys.exit(f"{ex}: verify --netlist failed\n{v.stderr}")
            shape = "x".join(str(n) for n in arrays[next(iter(arrays))].shape)
            res = r["resources"]
            fmax = r["fmax_mhz"]
            rows.append((ex, shape, res["logic_cells"]["used"], res["logic_cells"]["available"],
                         res["block_rams"]["used"], fmax, r["throughput_gbps"]["value"],
                         r["estimate"]["heaviest"], time.time() - t))
            print(f"{ex}: {rows[-1][2]} LC, {rows[-1][4]} BRAM, {fmax:.1f} MHz; netlist verified", flush=True)
    f = io.StringIO()
    f.write("Kernels at detector sizes built by `hissc build --target ice40-hx8k` (one lane, seed 1) and "
            "checked by `hissc verify --netlist` (GHDL on the synthesized netlist, one frame of the "
            "example's inputs). Row buffers of shifted slices are delay lines, in block RAM from 512 bits.\n\n")
    f.write(f"Produced by `python3 scripts/detector_scale.py` in {time.time() - t0:.0f} s on a 2-core machine.\n\n")
    f.write("| example | frame | logic cells | of the HX8K | BRAMs | Fmax (MHz) | Gbit/s | the most for | netlist check (s) |\n")
    f.write("|---|---|---:|---:|---:|---:|---:|---|---:|\n")
    for (ex, shape, lc, avail, bram, fmax, gbps, heaviest, secs) in rows:
        most = heaviest.replace("|", "\\|")
        f.write(f"| `examples/{ex}` | {shape} | {lc} | {100 * lc / avail:.1f} % | {bram} | {fmax:.1f} | "
                f"{gbps:.2f} | {most} | {secs:.0f} |\n")
    replace_section(a.out, "detector_scale", "Detector-sized frames", f.getvalue())
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
