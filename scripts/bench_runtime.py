#!/usr/bin/env python3
"""Bundle throughput through the emulated slot, as a node runs it:

bundles threshold_sum and pedestal_gain (`hissc bundle`, a real build), then
times `hissc emulate` on a batch of frames (whole process: reading the bundle
and the .npy, simulation, writing the outputs) and reads its peak memory; the
outputs must equal `hissc run`'s byte for byte.

    python3 scripts/bench_runtime.py [--hissc target/release/hissc] [--frames 20000]
                                     [--repeat 3] [--update docs/performance.md]

A benchmark, not a test: about a minute. Needs the FPGA tools (for the bundles)
and numpy.
"""
import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = os.path.join(ROOT, "../shared/conformance/cases")


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stderr}")
    return p


def peak_child_mb():
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hissc", default=os.path.join(ROOT, "target/release/hissc"))
    ap.add_argument("--frames", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--update")
    a = ap.parse_args()
    rng = np.random.default_rng(7)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for name, make in [
            ("threshold_sum", lambda n: ({"frame": rng.integers(0, 4096, (n, 32, 32), dtype=np.uint16)}, {"t": 1000})),
            ("pedestal_gain", lambda n: ({"frame": rng.integers(0, 4096, (n, 16, 16), dtype=np.uint16),
                                          "pedestal": rng.integers(0, 4096, (16, 16), dtype=np.uint16)}, {"gain": 300})),
        ]:
            kernel = os.path.join(CASES, name, "kernel.py")
            hbx = os.path.join(work, f"{name}.hbx")
            run([a.hissc, "bundle", kernel, "-o", hbx])
            inputs, params = make(a.frames)
            argv = []
            for k, v in inputs.items():
                p = os.path.join(work, f"{name}_{k}.npy")
                np.save(p, v)
                argv += ["--in", f"{k}={p}"]
            for k, v in params.items():
                argv += ["--param", f"{k}={v}"]
            times, peaks = [], []
            for _ in range(a.repeat):
                # each run in a fresh child: RUSAGE_CHILDREN's peak is the largest child so far
                t0 = time.perf_counter()
                p = subprocess.run([sys.executable, "-c", "import resource,subprocess,sys;"
                                    "subprocess.run(sys.argv[1:],check=True);"
                                    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
                                    a.hissc, "emulate", hbx, *argv, "--out", os.path.join(work, f"{name}_emu")],
                                   capture_output=True, text=True)
                times.append(time.perf_counter() - t0)
                if p.returncode != 0:
                    sys.exit(p.stderr)
                peaks.append(int(p.stdout.strip()) / 1024)
            run([a.hissc, "run", kernel, *argv, "--out", os.path.join(work, f"{name}_run")])
            for f in os.listdir(os.path.join(work, f"{name}_run")):
                emu = open(os.path.join(work, f"{name}_emu", f), "rb").read()
                ref = open(os.path.join(work, f"{name}_run", f), "rb").read()
                if emu != ref:
                    sys.exit(f"{name}/{f}: the emulated slot differs from hissc run")
            t = statistics.median(times)
            frame = inputs["frame"]
            in_bytes = sum(v.nbytes for v in inputs.values())
            bits = frame.nbytes * 8
            rows.append((name, a.frames, frame.shape[1:], t, a.frames / t, bits / t / 1e9,
                         max(peaks), in_bytes / 2**20))
    lines = [
        f"Command: `python3 scripts/bench_runtime.py --frames {a.frames} --repeat {a.repeat}` "
        "(`hissc emulate` on a bundle, whole process, median time, largest peak; outputs equal `hissc run`'s byte for byte).",
        "",
        "| kernel | frames | frame | time (s) | frames/s | detector Gbit/s | peak memory (MB) | input (MB) |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for name, n, shape, t, fps, gbps, peak, inp in rows:
        lines.append(f"| {name} | {n} | {'x'.join(map(str, shape))} uint16 | {t:.2f} | {fps:,.0f} | {gbps:.3f} | {peak:.0f} | {inp:.0f} |")
    text = "\n".join(lines)
    print(text)
    if a.update:
        doc = open(a.update).read()
        block = f"<!-- bench_runtime:start -->\n{text}\n<!-- bench_runtime:end -->"
        if "<!-- bench_runtime:start -->" in doc:
            doc = re.sub(r"<!-- bench_runtime:start -->.*?<!-- bench_runtime:end -->", block, doc, flags=re.S)
        else:
            doc = doc.rstrip("\n") + "\n\n## Bundles through the emulated slot\n\n" + block + "\n"
        open(a.update, "w").write(doc)


if __name__ == "__main__":
    main()
