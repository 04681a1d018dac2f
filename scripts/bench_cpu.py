#!/usr/bin/env python3
"""The CPU slot against numpy, as a user runs a kernel on a batch of files:

every kernel of stdlib-kernels/ made module-sized (its tile's H, W = 16, 32
become 512, 1024 -- a JUNGFRAU 0.5M module -- in the kernel and its case) and
threshold_sum on 512 x 1024 frames, each on --frames frames (the case's seeded
frames repeated). Each kernel runs twice, side by side, as whole processes on
the same .npy files: `hissc run` (the kernel compiled for the CPU) and CPython
+ numpy calling the kernel's own function frame by frame (what the scientist
would run without hissc), both loading the inputs and writing the outputs.
Figures are CPU seconds of each whole process (user + system, so they hold
on a shared machine) and its peak memory; the outputs must be equal, element
for element and dtype for dtype.

    python3 scripts/bench_cpu.py [--hissc target/release/hissc] [--frames 100]
                                 [--only NAME,...] [--update docs/performance.md]

A benchmark, not a test: about two minutes at 100 frames. Needs numpy.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import re
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LIB = os.path.join(ROOT, "stdlib-kernels")
sys.path.insert(0, LIB)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "python"))  # the hiss package the kernels import
H, W = 512, 1024

THRESHOLD_SUM = '''import numpy as np
from hiss import kernel, Array


@kernel
def threshold_sum(frame: Array[np.uint16, 512, 1024], t: np.uint16) -> np.uint64:
    return np.where(frame > t, frame, 0).sum()
'''

# numpy's side: the kernel's own function, frame by frame, on the same files
NUMPY_RUN = r'''
import importlib.util, json, sys
import numpy as np
kernel_py, name, work, frames = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
spec = importlib.util.spec_from_file_location("k", kernel_py)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
fn = getattr(mod, name).__wrapped__
plan = json.load(open(f"{work}/plan.json"))
args = {}
for n, kind in plan["args"].items():
    if kind == "batch":
        args[n] = np.load(f"{work}/in_{n}.npy", mmap_mode="r")
    elif kind == "fixed":
        args[n] = np.load(f"{work}/in_{n}.npy")
    elif kind == "state":
        args[n] = np.load(f"{work}/in_{n}.npy")
    else:
        args[n] = np.dtype(kind[1]).type(kind[0])
outs = []
for f in range(frames):
    a = {n: (v[f] if plan["args"][n] == "batch" else v) for n, v in args.items()}
    r = fn(**a)
    outs.append(r if isinstance(r, tuple) else (r,))
for i in range(len(outs[0])):
    vals = [np.asarray(o[i]) for o in outs]
    if plan["vec"][i]:
        np.save(f"{work}/np_out{i}.npy", np.concatenate(vals))
    else:
        np.save(f"{work}/np_out{i}.npy", np.stack(vals))
'''


# runs a command as a grandchild of a small process, so its peak memory is
# its own (a child of this script would inherit this script's at exec)
MEASURE = r"""
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execvpe(sys.argv[1], sys.argv[1:], os.environ)
_, status, use = os.wait4(pid, 0)
print(json.dumps([os.waitstatus_to_exitcode(status), use.ru_utime + use.ru_stime, use.ru_maxrss / 1024]))
"""


def cpu_run(cmd, env=None):
    """CPU seconds (user + system) and peak RSS (MB) of a whole process."""
    p = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True, env=env)
    code, secs, mb = json.loads(p.stdout.strip().splitlines()[-1])
    if code != 0:
        sys.exit(f"{' '.join(cmd)}: exit {code}\n{p.stderr}")
    return secs, mb


def module_sized(name, work):
    """The kernel's source and its case's make(rng), module-sized."""
    src = open(os.path.join(LIB, name, "kernel.py")).read()
    src = src.replace("H, W = 16, 32", f"H, W = {H}, {W}")
    src = src.replace("R0, R1, C0, C1 = 2, 14, 4, 28", "R0, R1, C0, C1 = 64, 448, 128, 896")
    kpath = os.path.join(work, f"{name}.py")
    open(kpath, "w").write(src)
    case = open(os.path.join(LIB, name, "case.py")).read().replace("(16, 32)", f"({H}, {W})")
    case = re.sub(r"\((\d+), 16, 32\)", rf"(\1, {H}, {W})", case)
    case = case.replace("sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))",
                        f"sys.path.insert(0, {LIB!r})")
    cpath = os.path.join(work, f"{name}_case.py")
    open(cpath, "w").write(case)
    spec = importlib.util.spec_from_file_location(f"{name}_case", cpath)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return kpath, getattr(mod, "KERNEL", name), mod.make


def bench(hissc, kpath, name, made, frames, work):
    inputs, params = made[0], made[1]
    states = made[2] if len(made) > 2 else {}
    spec = importlib.util.spec_from_file_location("km", kpath)
    km = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(km)
    fn = getattr(km, name)
    ann = fn.__wrapped__.__annotations__
    plan = {"args": {}, "vec": []}
    cmd = [hissc, "run", kpath, "--kernel", name, "--out", os.path.join(work, "out")]
    for n, v in inputs.items():
        shape = tuple(ann[n].shape)
        if v.shape == shape:
            kind = "fixed"
        else:
            reps = -(-frames // v.shape[0])
            v = np.concatenate([v] * reps)[:frames]
            kind = "batch"
        np.save(os.path.join(work, f"in_{n}.npy"), np.ascontiguousarray(v))
        plan["args"][n] = kind
        cmd += ["--in", f"{n}={os.path.join(work, f'in_{n}.npy')}"]
    states = dict(states)
    for n, t in ann.items():
        if type(t).__name__ == "StateType" and n not in states:
            states[n] = np.zeros(tuple(t.shape), t.dtype)  # a state left out starts at zeros
    for n, v in states.items():
        np.save(os.path.join(work, f"in_{n}.npy"), v)
        plan["args"][n] = "state"
        cmd += ["--state", f"{n}={os.path.join(work, f'in_{n}.npy')}"]
    for n, v in params.items():
        t = ann[n]
        dt = np.dtype(t if isinstance(t, type) else t.dtype).name
        plan["args"][n] = [int(v), dt]
        cmd += ["--param", f"{n}={int(v)}"]
    ret = ann["return"]
    parts = getattr(ret, "__args__", None) or (ret,)
    plan["vec"] = [type(p).__name__ == "VecType" for p in parts]
    json.dump(plan, open(os.path.join(work, "plan.json"), "w"))
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    np_secs, np_mb = cpu_run([sys.executable, "-c", NUMPY_RUN, kpath, name, work, str(frames)], env)
    hs_secs, hs_mb = cpu_run(cmd)
    # equal outputs
    outs = sorted(f for f in os.listdir(os.path.join(work, "out")) if re.fullmatch(r"out\d*\.npy", f))
    for i, f in enumerate(outs):
        got = np.load(os.path.join(work, "out", f))
        want = np.load(os.path.join(work, f"np_out{i}.npy"))
        if got.dtype != want.dtype or got.shape != want.shape or not np.array_equal(got, want):
            sys.exit(f"{name}: output {i} differs from numpy's ({got.dtype}{got.shape} against {want.dtype}{want.shape})")
    return np_secs, np_mb, hs_secs, hs_mb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hissc", default=os.path.join(ROOT, "target/release/hissc"))
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--only")
    ap.add_argument("--update")
    a = ap.parse_args()
    names = sorted(d for d in os.listdir(LIB) if os.path.isfile(os.path.join(LIB, d, "kernel.py")))
    names.append("threshold_sum")
    if a.only:
        names = [n for n in names if n in a.only.split(",")]
    rows = []
    for n in names:
        with tempfile.TemporaryDirectory() as work:
            rng = np.random.default_rng(1)
            if n == "threshold_sum":
                kpath = os.path.join(work, "threshold_sum.py")
                open(kpath, "w").write(THRESHOLD_SUM)
                made = ({"frame": rng.integers(0, 4096, (8, H, W), dtype=np.uint16)}, {"t": 1000})
                kname = n
            else:
                kpath, kname, make = module_sized(n, work)
                made = make(rng)
            np_s, np_mb, hs_s, hs_mb = bench(a.hissc, kpath, kname, made, a.frames, work)
        px = a.frames * H * W
        row = (n, np_s, hs_s, np_s / hs_s, px / hs_s / 1e9, np_mb, hs_mb)
        rows.append(row)
        print(f"{n:24} numpy {np_s:7.2f} s  hissc run {hs_s:6.2f} s  {np_s / hs_s:5.1f}x  "
              f"{px / hs_s / 1e9:5.2f} Gpixel/s  peak {np_mb:5.0f} MB / {hs_mb:5.0f} MB", flush=True)
    table = [
        f"| kernel ({H} x {W}, {a.frames} frames) | numpy (CPU s) | `hissc run` (CPU s) | speed-up | Gpixel/s | peak MB numpy / hissc |",
        "|---|---:|---:|---:|---:|---:|",
    ] + [f"| `{n}` | {x:.2f} | {y:.2f} | {r:.1f}x | {g:.2f} | {m1:.0f} / {m2:.0f} |" for n, x, y, r, g, m1, m2 in rows]
    print("\n".join(table))
    if a.update:
        from mdsection import replace_section
        replace_section(a.update, "cpu-slot", "The CPU slot against numpy (`scripts/bench_cpu.py`)", "\n".join(table))


if __name__ == "__main__":
    main()
