#!/usr/bin/env python3
"""Mutation fuzzing of the compiler: mutates the public and rejected kernels
(deleting spans, inserting tokens) and requires `hissc KERNEL -o /dev/null` to
exit 0 or 1 with no panic and no compiler bug; failing inputs are kept.

    python3 scripts/fuzz_frontend.py [--hissc target/release/hissc] [--runs 2000] [--seed 1]
"""
import argparse
import glob
import os
import random
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENS = ['(', ')', '[', ']', ':', ',', '0', '-1', '2**70', 'np.', '.sum()', 'axis=5', 'x', 'frame', '\n',
          '    ', 'if ', 'for ', 'return ', 'lambda', '1.5', '//', '>>', '<<', '**', '~', 'not ', 'and ',
          'is ', '[::-1]', '[0]', '.reshape(3,3)', 'np.where(', 'None', 'True', '"s"', '@kernel\n',
          'def f():\n', '.astype(np.float32)', 'np.bincount(', 'np.uint64', 'np.int8', '%0', '//0',
          'np.newaxis', ', None', 'keepdims=True', '2.5', '-1e400', 'np.uint16(7)', 'i:i+2', '\xe9',
          # aliases, views and writes (issue 23): names sharing an array, slices
          # written into, in-place operators, copies
          ' += ', ' -= ', ' >>= ', ' |= ', '[...]', '[..., 0]', '[1:3] = ', '[0] += 1', ' = frame',
          '.copy()', '.ravel()', '.flatten()', '.reshape(-1)[::2]', 'y = frame\n    y += 1\n    ',
          'v = frame[1:3]\n    v -= 1\n    ', 'frame[::2] = 0\n    ']


def mutate(rng, s):
    """One to four edits: a span deleted, a token inserted, or (in a kernel
    body) a write through a name bound earlier in it."""
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(s) + 1)
        r = rng.random()
        if r < 0.4 and len(s) > 5:
            s = s[:i] + s[min(len(s), i + rng.randint(1, 8)):]
        elif r < 0.85:
            s = s[:i] + rng.choice(TOKENS) + s[i:]
        else:
            lines = s.split("\n")
            names = [l.split("=")[0].strip() for l in lines
                     if l.startswith("    ") and "=" in l and l.split("=")[0].strip().isidentifier()]
            body = [n for n, l in enumerate(lines) if l.startswith("    ") and not l.strip().startswith("return")]
            if names and body:
                at = rng.choice(body) + 1
                x = rng.choice(names)
                stmt = rng.choice([f"{x} += 1", f"{x}[0] = 0", f"{x}[1:] -= {x}[:-1]", f"y = {x}",
                                   f"{x}[...] >>= 1", f"{x}.ravel()[::3] = 2", f"{x} = {x}.copy()"])
                lines.insert(at, "    " + stmt)
                s = "\n".join(lines)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hissc", default=os.path.join(ROOT, "target/release/hissc"))
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", default=os.path.join(tempfile.gettempdir(), "hissc-fuzz"))
    a = ap.parse_args()
    rng = random.Random(a.seed)
    shared = os.path.join(ROOT, "../shared/conformance")
    files = glob.glob(f"{shared}/cases/*/kernel.py") + glob.glob(f"{shared}/bad/*.py") + glob.glob(f"{ROOT}/testsuite/bad/*.py") + glob.glob(f"{ROOT}/testsuite/cases/*/kernel.py")
    sources = [open(f).read() for f in files]
    os.makedirs(a.keep, exist_ok=True)
    bad = 0
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "kernel.py")
        for _ in range(a.runs):
            s = mutate(rng, rng.choice(sources))
            open(path, "w").write(s)
            p = subprocess.run([a.hissc, path, "-o", os.devnull], capture_output=True, text=True, timeout=60)
            if p.returncode not in (0, 1) or "panicked" in p.stderr or "bug:" in p.stderr:
                bad += 1
                keep = os.path.join(a.keep, f"failure_{bad}.py")
                open(keep, "w").write(s)
                print(f"FAIL (exit {p.returncode}) kept in {keep}: {p.stderr.strip()[-300:]}")
    print(f"{a.runs - bad} passed, {bad} failed")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
