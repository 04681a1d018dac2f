#!/usr/bin/env python3
"""hissc against the hand-written designs in ../shared/anchors: each anchor is
synthesized and placed with the same tools and options as `hissc build`
(ghdl --synth, yosys synth_ice40, nextpnr-ice40 --hx8k --package ct256
--freq 100), and hissc's design of the same conformance case is built; logic
cells, block RAMs and nextpnr's Fmax (median over the seeds) go into
docs/performance.md.

    python3 scripts/bench_anchors.py [--hissc target/release/hissc] [--seeds 3]

A benchmark, not a test: a few minutes.
"""
import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mdsection import replace_section  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")


def run(cmd, cwd):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    return p.stdout


def anchor(vhd, top, seeds, work):
    d = os.path.join(work, "anchor-" + top)
    os.makedirs(d)
    run(["ghdl", "-a", "--std=08", vhd], d)
    with open(os.path.join(d, f"{top}.v"), "w") as f:
        f.write(run(["ghdl", "--synth", "--std=08", "--out=verilog", top], d))
    run(["yosys", "-q", "-p", f"read_verilog {top}.v; synth_ice40 -top {top} -json {top}.json"], d)
    fmax, lc, bram = [], 0, 0
    for s in range(1, seeds + 1):
        run(["nextpnr-ice40", "--hx8k", "--package", "ct256", "--json", f"{top}.json", "--asc", f"{top}.asc",
             "--pcf-allow-unconstrained", "--freq", "100", "--seed", str(s), "--report", "r.json"], d)
        r = json.load(open(os.path.join(d, "r.json")))
        fmax.append(min(c["achieved"] for c in r["fmax"].values()))
        lc, bram = r["utilization"]["ICESTORM_LC"]["used"], r["utilization"]["ICESTORM_RAM"]["used"]
    return lc, bram, statistics.median(fmax)


def ours(hissc, case, seeds, work):
    fmax, lc, bram = [], 0, 0
    for s in range(1, seeds + 1):
        d = os.path.join(work, f"hissc-{case}-{s}")
        run([hissc, "build", os.path.join(SHARED, "conformance", "cases", case, "kernel.py"),
             "--target", "ice40-hx8k", "--seed", str(s), "-o", d], ROOT)
        r = json.load(open(os.path.join(d, "report.json")))
        fmax.append(r["fmax_nextpnr_mhz"]["value"])
        lc, bram = r["resources"]["logic_cells"]["used"], r["resources"]["block_rams"]["used"]
    return lc, bram, statistics.median(fmax)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hissc", default=os.path.join(ROOT, "target/release/hissc"))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/performance.md"))
    a = ap.parse_args()
    t0 = time.time()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for name in sorted(os.listdir(os.path.join(SHARED, "anchors"))):
            path = os.path.join(SHARED, "anchors", name)
            if name.endswith(".vhd"):
                top = name[:-4]
            elif os.path.isfile(os.path.join(path, name + ".vhd")):
                # an anchor with its own testbench: DIR/DIR.vhd
                top, path = name, os.path.join(path, name + ".vhd")
            else:
                continue
            # `histogram_b2b` is the histogram under hissc's back-to-back contract
            case = top[: -len("_b2b")] if top.endswith("_b2b") else top
            h = anchor(path, top, a.seeds, work)
            o = ours(a.hissc, case, a.seeds, work)
            rows.append((top, h, o))
            print(top, h, o, flush=True)
    f = io.StringIO()
    f.write(f"The hand-written designs of `../shared/anchors` and hissc's designs of the same cases, one lane, "
            f"built with the same tools for ice40-hx8k (nextpnr Fmax, median over seeds 1 to {a.seeds}).\n\n")
    f.write(f"Produced by `python3 scripts/bench_anchors.py --seeds {a.seeds}` in {time.time() - t0:.0f} s.\n\n")
    f.write("| case | hand-written LC | BRAM | Fmax (MHz) | hissc LC | BRAM | Fmax (MHz) | LC ratio |\n")
    f.write("|---|---:|---:|---:|---:|---:|---:|---:|\n")
    for case, (hl, hb, hf), (ol, ob, of) in rows:
        f.write(f"| {case} | {hl} | {hb} | {hf:.1f} | {ol} | {ob} | {of:.1f} | {ol / hl:.2f} |\n")
    replace_section(a.out, "bench_anchors", "Against the hand-written designs", f.getvalue())
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
