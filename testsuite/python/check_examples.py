#!/usr/bin/env python3
"""Runs every example kernel in plain CPython + numpy with the real `hiss`
package, then through `hissc run` and `hissc sim`, and requires identical dtype,
shape and values.

    python3 testsuite/python/check_examples.py --hissc target/release/hissc [--examples DIR]
"""
import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))  # the package, installed or not
import hiss  # noqa: E402


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def kernel_of(mod):
    found = [v for v in vars(mod).values() if hasattr(v, "__hiss_kernel__")]
    if len(found) != 1:
        raise RuntimeError(f"expected one @kernel, found {len(found)}")
    return found[0]


def check(hissc, example, work):
    kmod = load(os.path.join(example, "kernel.py"), "k_" + os.path.basename(example))
    imod = load(os.path.join(example, "inputs.py"), "i_" + os.path.basename(example))
    fn = kernel_of(kmod)
    arrays, params = imod.make(np.random.default_rng(2026))
    ann = fn.__hiss_kernel__.__annotations__
    typed = {k: (ann[k].dtype if isinstance(ann[k], hiss.RangeType) else np.dtype(ann[k])).type(v)
             for k, v in params.items()}
    result = fn(**arrays, **typed)
    expected = [np.asarray(r) for r in result] if isinstance(result, tuple) else [np.asarray(result)]
    argv = []
    for k, v in arrays.items():
        p = os.path.join(work, f"{k}.npy")
        np.save(p, v)
        argv += ["--in", f"{k}={p}"]
    for k, v in params.items():
        argv += ["--param", f"{k}={int(v)}"]
    problems = []
    for stage in ("run", "sim"):
        out = os.path.join(work, stage)
        p = subprocess.run([hissc, stage, os.path.join(example, "kernel.py"), *argv, "--out", out],
                           capture_output=True, text=True)
        if p.returncode != 0:
            problems.append(f"{stage}: exit {p.returncode}: {p.stderr.strip()[-400:]}")
            continue
        names = ["out"] if len(expected) == 1 else [f"out{i}" for i in range(len(expected))]
        for name, exp in zip(names, expected):
            got = np.load(os.path.join(out, name + ".npy"))
            if got.dtype != exp.dtype or got.shape != exp.shape or not np.array_equal(got, exp):
                problems.append(f"{stage}/{name}: got {got.dtype}{got.shape}, CPython gives {exp.dtype}{exp.shape}")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hissc", required=True)
    ap.add_argument("--examples", default=os.path.join(ROOT, "examples"))
    args = ap.parse_args()
    passed = failed = 0
    for name in sorted(os.listdir(args.examples)):
        ex = os.path.join(args.examples, name)
        if not os.path.isfile(os.path.join(ex, "kernel.py")):
            continue
        with tempfile.TemporaryDirectory() as work:
            try:
                problems = check(os.path.abspath(args.hissc), ex, work)
            except Exception as e:  # a broken example is a failure, loudly
                problems = [f"{type(e).__name__}: {e}"]
        print(("PASS " if not problems else "FAIL ") + name + "".join("\n  " + p for p in problems))
        passed, failed = (passed + 1, failed) if not problems else (passed, failed + 1)
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and passed > 0 else 1)


if __name__ == "__main__":
    main()
