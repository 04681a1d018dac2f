#!/usr/bin/env python3
"""Line rate with --lanes: builds kernels for an FPGA at several lane counts and
placement seeds and writes the "Lanes and line rate" section of docs/performance.md.

    python3 scripts/bench_lanes.py [--hissc target/release/hissc] [--target ice40-hx8k]
                                   [--seeds 5] [--sweep-seeds 1] [--out docs/performance.md]

threshold_sum and zero_suppress are built with --lanes lanes (32) over --seeds seeds
(the --rate contract: 40 Gbit/s; on ecp5-85k, 64 lanes and 100 Gbit/s); histogram,
bin2x2 and cumsum are swept over 1..32 (64) lanes with
--sweep-seeds seeds, reporting the best rate and what stops the next lane count.
Gbit/s = elements/cycle x bits/element x min(nextpnr, icetime) Fmax (median over
seeds). A benchmark, not a test: about ten minutes.
"""
import argparse
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
CASES = os.path.join(ROOT, "..", "shared", "conformance", "cases")


def build(hissc, kernel, target, lanes, seed, work):
    d = os.path.join(work, f"{os.path.basename(os.path.dirname(kernel))}-{lanes}-{seed}")
    p = subprocess.run([hissc, "build", kernel, "--target", target, "--lanes", str(lanes),
                        "--seed", str(seed), "-o", d], capture_output=True, text=True)
    if p.returncode != 0:
        lines = [l.strip() for l in (p.stderr or p.stdout).splitlines() if l.strip()]
        # hissc names what ran out when a design does not fit
        why = next((l for l in lines if l.startswith("error")), lines[0] if lines else "failed")
        return None, why.removeprefix("error: ")
    return json.load(open(os.path.join(d, "report.json"))), None


def summary(reports):
    r0 = reports[0]
    nx = statistics.median(r["fmax_nextpnr_mhz"]["value"] for r in reports)
    # ECP5 has no icetime: nextpnr's figure stands alone
    it = (statistics.median(r["fmax_icetime_mhz"]["value"] for r in reports)
          if r0["fmax_icetime_mhz"] else None)
    epc = sum(e for _, e in r0["elements_per_cycle"]["value"])
    bits = max(b for _, b in r0["element_bits"])
    cp = r0["critical_path"]["python"][:1]
    return {
        "lc": r0["resources"]["logic_cells"]["used"],
        "bram": r0["resources"]["block_rams"]["used"],
        "nx": nx, "it": it, "gbps": epc * bits * (nx if it is None else min(nx, it)) / 1000.0,
        "cp": cp[0] if cp else (r0["critical_path"].get("nets") or [""])[0],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hissc", default=os.path.join(ROOT, "target/release/hissc"))
    ap.add_argument("--target", default="ice40-hx8k")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--sweep-seeds", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/performance.md"))
    ap.add_argument("--lanes", type=int, default=32, help="the contract kernels' lanes")
    ap.add_argument("--rate", type=float, default=40.0, help="the contract rate, Gbit/s")
    ap.add_argument("--sweep", default="histogram,bin2x2,cumsum", help="the kernels swept over lanes")
    a = ap.parse_args()
    mhz = lambda f: "—" if f is None else f"{f:.1f} MHz"  # noqa: E731
    sweep = [n for n in (1, 2, 4, 8, 16, 32, 64) if n <= max(32, a.lanes)]
    t0 = time.time()
    out = []
    with tempfile.TemporaryDirectory() as work:
        out.append(f"Contract kernels on {a.target}, {a.lanes} lanes, seeds 1 to {a.seeds} (median):\n")
        out.append(f"| kernel | lanes | logic cells | BRAMs | Fmax nextpnr | Fmax icetime | Gbit/s | ≥ {a.rate:g} Gbit/s |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---|")
        for case in ("threshold_sum", "zero_suppress"):
            k = os.path.join(CASES, case, "kernel.py")
            reports = []
            for s in range(1, a.seeds + 1):
                r, why = build(a.hissc, k, a.target, a.lanes, s, work)
                if r is None:
                    sys.exit(f"{case} lanes {a.lanes} seed {s}: {why}")
                reports.append(r)
            m = summary(reports)
            ok = "yes" if m["gbps"] >= a.rate else "**no**"
            out.append(f"| {case} | {a.lanes} | {m['lc']} | {m['bram']} | {mhz(m['nx'])} | {mhz(m['it'])} | {m['gbps']:.1f} | {ok} |")
            print(out[-1], flush=True)
        out.append(f"\nSweeps, seeds 1 to {a.sweep_seeds} (median); a dash is a lane count that does not build:\n")
        out.append("| kernel | lanes | logic cells | BRAMs | Fmax nextpnr | Fmax icetime | Gbit/s | critical path / why not |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---|")
        for case in [c for c in a.sweep.split(",") if c]:
            k = os.path.join(CASES, case, "kernel.py")
            for lanes in sweep:
                reports, why = [], None
                for s in range(1, a.sweep_seeds + 1):
                    r, why = build(a.hissc, k, a.target, lanes, s, work)
                    if r is None:
                        break
                    reports.append(r)
                if why:
                    out.append(f"| {case} | {lanes} | - | - | - | - | - | {why.replace('|', '/')} |")
                    print(out[-1], flush=True)
                    break  # more lanes need more of everything
                else:
                    m = summary(reports)
                    cp = str(m["cp"]).replace("|", "/")
                    out.append(f"| {case} | {lanes} | {m['lc']} | {m['bram']} | {mhz(m['nx'])} | {mhz(m['it'])} | {m['gbps']:.1f} | `{cp}` |")
                print(out[-1], flush=True)
    out.append(f"\nProduced by `python3 scripts/bench_lanes.py --target {a.target} --lanes {a.lanes} "
               f"--rate {a.rate:g} --seeds {a.seeds} --sweep {a.sweep} --sweep-seeds {a.sweep_seeds}` in {time.time() - t0:.0f} s on a 2-core machine. Laned inputs "
               "enter through the narrow wrapper's shift register (docs/hardware-interface.md), so the "
               "figures include it.")
    if a.target == "ice40-hx8k":
        replace_section(a.out, "bench_lanes", "Lanes and line rate", "\n".join(out))
    else:
        replace_section(a.out, f"bench_lanes_{a.target}", f"Lanes and line rate, {a.target}", "\n".join(out))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
