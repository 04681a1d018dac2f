#!/usr/bin/env python3
"""hissc against CPython + numpy on random kernels: runs every kernel written by
`hissc-gen` in numpy (with the real `hiss` package) and through `hissc run`
(the CPU slot), `hissc run --reference` (the interpreter) and, with --sim,
`hissc sim`, requiring identical dtype, shape and values.
A kernel numpy rejects must be rejected by hissc too.

    cargo run --release -p hissc-testsuite --bin hissc-gen -- DIR 500
    python3 testsuite/python/check_random.py --hissc target/release/hissc DIR [--sim]
"""
import argparse
import importlib.util
import os
import subprocess
import sys
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
import hiss  # noqa: E402,F401


def run_numpy(d):
    spec = importlib.util.spec_from_file_location("k_" + os.path.basename(d), os.path.join(d, "kernel.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    fn = mod.k
    ann = fn.__hiss_kernel__.__annotations__
    args = {}
    for line in open(os.path.join(d, "params.txt")):
        name, value = line.strip().split("=")
        args[name] = np.dtype(ann[name]).type(int(value))
    for f in os.listdir(d):
        if f.endswith(".npy"):
            args[f[:-4]] = np.load(os.path.join(d, f))
    states = {}
    sdir = os.path.join(d, "states")
    for f in sorted(os.listdir(sdir)) if os.path.isdir(sdir) else []:
        states[f[:-4]] = np.load(os.path.join(sdir, f))  # updated in place by the call
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = fn(**args, **states)
    return [np.asarray(x) for x in r] if isinstance(r, tuple) else [np.asarray(r)], states


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hissc", required=True)
    ap.add_argument("dir")
    ap.add_argument("--sim", action="store_true")
    a = ap.parse_args()
    passed = failed = 0
    for name in sorted(os.listdir(a.dir)):
        d = os.path.join(a.dir, name)
        why = None
        try:
            expected, args = run_numpy(d)
        except Exception as e:  # numpy refused: hissc must refuse too
            expected, why_np = None, f"{type(e).__name__}: {e}"
        argv = []
        for f in os.listdir(d):
            if f.endswith(".npy"):
                argv += ["--in", f"{f[:-4]}={os.path.join(d, f)}"]
        for line in open(os.path.join(d, "params.txt")):
            argv += ["--param", line.strip()]
        sdir = os.path.join(d, "states")
        for f in sorted(os.listdir(sdir)) if os.path.isdir(sdir) else []:
            argv += ["--state", f"{f[:-4]}={os.path.join(sdir, f)}"]
        # the CPU slot (`run`), the reference interpreter and the simulator
        stages = [("run", []), ("reference", ["--reference"])] + ([("sim", [])] if a.sim else [])
        for stage, flags in stages:
            out = os.path.join(d, "out_" + stage)
            command = "run" if stage == "reference" else stage
            p = subprocess.run([a.hissc, command, os.path.join(d, "kernel.py"), *argv, *flags, "--out", out],
                               capture_output=True, text=True)
            if expected is None:
                if p.returncode != 1:
                    why = f"numpy raised ({why_np}) but hissc {stage} exited {p.returncode}"
                break
            if p.returncode != 0:
                why = f"{stage}: exit {p.returncode}: {p.stderr.strip()[-600:]}"
                break
            names = ["out"] if len(expected) == 1 else [f"out{i}" for i in range(len(expected))]
            # the states the frame left, beside the outputs
            names += [f"state_{k}" for k in args]
            for n, exp in zip(names, expected + list(args.values())):
                got = np.load(os.path.join(out, n + ".npy"))
                if got.dtype != exp.dtype or got.shape != exp.shape or not np.array_equal(got, exp):
                    why = f"{stage}/{n}: hissc {got.dtype}{got.shape} {got.ravel()[:6]}, numpy {exp.dtype}{exp.shape} {exp.ravel()[:6]}"
                    break
            if why:
                break
        if why:
            failed += 1
            print(f"FAIL {name}: {why}")
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and passed > 0 else 1)


if __name__ == "__main__":
    main()
