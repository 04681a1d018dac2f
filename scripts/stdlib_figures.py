#!/usr/bin/env python3
"""The beamline kernel library's figures: writes the tables of
stdlib-kernels/README.md.

    python3 scripts/stdlib_figures.py [--hissc target/release/hissc] [--only NAME,...]
                                      [--skip-builds] [--skip-module]

For each kernel of stdlib-kernels/ (its tile, the kernel its case.py names):
its synthetic data (the case's seeded generator) through `hissc verify --netlist`
(GHDL on the synthesized netlist, against the simulator and the interpreter),
then `hissc build --target ice40-hx8k --line-rate 40Gbps`: the lanes at which it
reaches 40 Gbit/s, or the best it reaches and what stops it (when no lane count
the line-rate search tries fits, the largest that does is built). Logic cells,
block RAMs, Fmax (the lower of nextpnr's and icetime's) and Gbit/s come from the
build's report.json.

Then the module-sized kernels (512 x 1024, a JUNGFRAU 0.5M module) through
`hissc run` and `hissc sim` on four synthetic frames, checked against CPython +
numpy, with their time per frame. The golden checks of every stage run in CI
(`run.py --cases stdlib-kernels`); this script is a benchmark: about half an
hour, mostly place and route.
"""
import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LIB = os.path.join(ROOT, "stdlib-kernels")
sys.path.insert(0, HERE)
sys.path.insert(0, LIB)
sys.path.insert(0, os.path.join(ROOT, "python"))
from mdsection import replace_section  # noqa: E402
import detectors  # noqa: E402


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def first_kernel(mod):
    return next(n for n, v in vars(mod).items()
                if callable(v) and hasattr(v, "__hiss_kernel__") and not n.endswith("_module"))


def flags(d, inputs, params, states=None):
    """Arrays and states written into `d`, and hissc's flags for them and the parameters."""
    argv = []
    for flag, values in (("--in", inputs), ("--state", states or {})):
        for k, v in values.items():
            p = os.path.join(d, f"{flag[2:]}_{k}.npy")
            np.save(p, v)
            argv += [flag, f"{k}={p}"]
    for k, v in params.items():
        argv += ["--param", f"{k}={int(v)}"]
    return argv


def write_case(case, d):
    """The case's data as files and hissc's flags for them."""
    made = case.make(np.random.default_rng(getattr(case, "SEED", 1234)))
    return flags(d, *made)


def tail(text):
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    err = next((l for l in lines if l.startswith("error")), lines[-1] if lines else "")
    return err.removeprefix("error: ")


def build(hissc, kernel, name, work, timeout):
    """`--line-rate 40Gbps`; when nothing it tries fits, the largest lane count that does."""
    d = os.path.join(work, name + "-rate")
    t0 = time.time()
    try:
        p = subprocess.run([hissc, "build", kernel, "--kernel", name, "--target", "ice40-hx8k",
                            "--line-rate", "40Gbps", "-o", d], capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"the build took longer than {timeout} s", time.time() - t0
    limit = "" if p.returncode == 0 else tail(p.stderr or p.stdout)
    report = os.path.join(d, "report.json")
    if os.path.exists(report):
        return json.load(open(report)), limit, time.time() - t0
    for lanes in (16, 8, 4, 2, 1):
        d = os.path.join(work, f"{name}-{lanes}")
        q = subprocess.run([hissc, "build", kernel, "--kernel", name, "--target", "ice40-hx8k",
                            "--lanes", str(lanes), "-o", d], capture_output=True, text=True,
                           timeout=timeout)
        if q.returncode == 0:
            return json.load(open(os.path.join(d, "report.json"))), limit, time.time() - t0
        # what stops the next lane count up
        limit = f"{lanes} lanes do not build: {tail(q.stderr or q.stdout)}"
    return None, limit, time.time() - t0


def short(limit):
    """The reason without the build's advice."""
    return limit.split(" (found before synthesis")[0].split(" (use fewer lanes")[0]


def figures(r, limit):
    res = r["resources"]
    nx = r["fmax_nextpnr_mhz"]["value"]
    it = (r.get("fmax_icetime_mhz") or {}).get("value", nx)
    # the lanes of the widest input stream (a kernel's other inputs take as many)
    lanes = max(e for _, e in r["elements_per_cycle"]["value"])
    lr = r.get("line_rate") or {}
    reached = lr.get("met", False)
    return {
        "lanes": f"{lanes:.0f}",
        "lc": f'{res["logic_cells"]["used"]}',
        "bram": f'{res["block_rams"]["used"]}',
        "fmax": f"{min(nx, it):.0f}",
        "gbps": f'{r["throughput_gbps"]["value"]:.1f}',
        "forty": f"reached with {lanes:.0f} lanes" if reached else f"not reached: {short(limit)}",
    }


def module_runs(hissc, work):
    """The three module-sized kernels on four 512 x 1024 frames, run and sim."""
    rng = np.random.default_rng(7)
    shape = (512, 1024)
    raw, peds, facs = detectors.jungfrau(rng, 4, shape, peak=600, spots=40)
    counts, mask = detectors.eiger(rng, 4, shape, spots=60)
    bins = detectors.radial_bins(shape, 512, mask=mask)
    jf = load(os.path.join(LIB, "jf_convert", "kernel.py"), "jf")
    sf = load(os.path.join(LIB, "spot_finder", "kernel.py"), "sf")
    az = load(os.path.join(LIB, "azimuthal_integration", "kernel.py"), "az")
    cal = {f"ped{g}": peds[g] for g in range(3)} | {f"fac{g}": facs[g] for g in range(3)}
    jobs = [
        ("jf_convert", "jf_convert_module", {"raw": raw, **cal}, {},
         lambda: [jf.jf_convert_module(raw, **cal)]),
        ("spot_finder", "spot_finder_module", {"frame": counts}, {"t": 3},
         lambda: list(sf.spot_finder_module(counts, np.uint16(3)))),
        ("azimuthal_integration", "azimuthal_integration_module", {"frame": counts, "bins": bins}, {},
         lambda: list(az.azimuthal_integration_module(counts, bins))),
    ]
    rows = []
    for lib, name, inputs, params, expect in jobs:
        d = os.path.join(work, name)
        os.makedirs(d, exist_ok=True)
        argv = flags(d, inputs, params)
        want = expect()
        row = {"name": name}
        for stage in ("run", "sim"):
            out = os.path.join(d, stage)
            t0 = time.time()
            p = subprocess.run([hissc, stage, os.path.join(LIB, lib, "kernel.py"), "--kernel", name,
                                *argv, "--out", out], capture_output=True, text=True)
            secs = time.time() - t0
            if p.returncode != 0:
                row[stage] = f"failed: {tail(p.stderr)}"
                continue
            files = ["out.npy"] if len(want) == 1 else [f"out{i}.npy" for i in range(len(want))]
            ok = all(np.array_equal(np.load(os.path.join(out, f)), w) and np.load(os.path.join(out, f)).dtype == w.dtype
                     for f, w in zip(files, want))
            row[stage] = f"{1000 * secs / 4:.0f} ms" + ("" if ok else " (DIFFERS from numpy)")
            if stage == "sim":
                cyc = [l for l in p.stdout.splitlines() if l.startswith("simulated")]
                row["cycles"] = cyc[0].split()[1] if cyc else "?"
        rows.append(row)
        print(row, flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hissc", default=os.path.join(ROOT, "target/release/hissc"))
    ap.add_argument("--only", default="")
    ap.add_argument("--skip-builds", action="store_true")
    ap.add_argument("--skip-module", action="store_true")
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--out", default=os.path.join(LIB, "README.md"))
    a = ap.parse_args()
    hissc = os.path.abspath(a.hissc)
    work = tempfile.mkdtemp(prefix="hiss-stdlib-")
    names = sorted(n for n in os.listdir(LIB) if os.path.isdir(os.path.join(LIB, n)) and not n.startswith("_"))
    if a.only:
        names = [n for n in names if n in a.only.split(",")]
    # figures are kept per kernel, so a run of some kernels (--only) updates theirs
    cache_path = os.path.join(LIB, "figures.json")
    cache = json.load(open(cache_path)) if os.path.exists(cache_path) else {}
    rows = []
    for n in names:
        d = os.path.join(work, n)
        os.makedirs(d)
        kpath = os.path.join(LIB, n, "kernel.py")
        case = load(os.path.join(LIB, n, "case.py"), "case_" + n)
        kname = getattr(case, "KERNEL", None) or first_kernel(load(kpath, "k_" + n))
        argv = write_case(case, d)
        p = subprocess.run([hissc, "verify", kpath, "--kernel", kname, *argv, "--netlist"],
                           capture_output=True, text=True)
        netlist = "passes" if p.returncode == 0 else f"FAILS: {tail(p.stderr)}"
        row = {"name": n, "netlist": netlist}
        if not a.skip_builds:
            r, limit, secs = build(hissc, kpath, kname, work, a.timeout)
            row |= figures(r, limit) if r else {"lanes": "-", "lc": "-", "bram": "-", "fmax": "-", "gbps": "-",
                                                 "forty": f"not reached: {limit}"}
            row["secs"] = f"{secs:.0f}"
        rows.append(row)
        print(row, flush=True)
        if not a.skip_builds:
            cache[n] = row
            with open(cache_path, "w") as f:
                json.dump(cache, f, indent=1, sort_keys=True)
    if not a.skip_builds:
        lines = ["| kernel | verify --netlist | lanes built | logic cells | BRAM | Fmax (MHz) | Gbit/s | 40 Gbit/s |",
                 "|---|---|---|---|---|---|---|---|"]
        for r in (cache[k] for k in sorted(cache)):
            lines.append(f"| `{r['name']}` | {r['netlist']} | {r['lanes']} | {r['lc']} | {r['bram']} | {r['fmax']} | {r['gbps']} | {r['forty']} |")
        replace_section(a.out, "stdlib-figures", "Figures on the iCE40 HX8K", "\n".join(lines))
    if not a.skip_module:
        mods = module_runs(hissc, work)
        lines = ["| kernel (512 x 1024) | hissc run, per frame | hissc sim, per frame | simulated cycles (4 frames) |",
                 "|---|---|---|---|"]
        for r in mods:
            lines.append(f"| `{r['name']}` | {r.get('run')} | {r.get('sim')} | {r.get('cycles', '-')} |")
        replace_section(a.out, "stdlib-module", "Module-sized frames", "\n".join(lines))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
