#!/usr/bin/env python3
"""Node ingest under load, side by side in one run:

- 32 clients (threads, one boto3 client each) upload 64 MiB `.npy` batches of
  32x32 uint16 frames at once into a bucket without a kernel, then into one
  with threshold_sum attached; every object is read back and checked (ETag =
  MD5 of the bytes sent) and every result against numpy: nothing lost, nothing
  different;
- the tier alone: the same bodies written by 32 threads into a directory the
  way the directory tier writes them (staging file, fsync, rename).

    python3 scripts/bench_node.py [--clients 32] [--mib 64] [--update docs/performance.md]

A benchmark, not a test: a few minutes and about 10 GB of disk. Needs numpy and
boto3 (pip install numpy boto3) and a release build (cargo build --release).
"""
import argparse
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import boto3
import numpy as np
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mdsection import replace_section  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL = os.path.join(ROOT, "examples", "threshold_sum", "kernel.py")
T = 1000
KEY, SECRET = "bench", "bench-secret"


def run_threads(n, fn):
    errors = []

    def wrap(i):
        try:
            fn(i)
        except Exception as e:  # reported after the run
            errors.append(f"client {i}: {e!r}")

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    if errors:
        sys.exit("\n".join(errors[:5]))
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--update", help="replace the node section of this markdown file")
    a = ap.parse_args()
    node_bin = os.path.join(ROOT, "target", "release", "hiss-node")
    hissc = os.path.join(ROOT, "target", "release", "hissc")
    work = tempfile.mkdtemp(prefix="hiss-bench-node-")
    bundle = os.path.join(work, "ts.hbx")
    subprocess.run([hissc, "bundle", KERNEL, "--target", "ice40-hx8k", "-o", bundle], check=True,
                   capture_output=True)

    frames = a.mib * 2**20 // (32 * 32 * 2)
    print(f"making {a.clients} batches of {frames} frames ({a.mib} MiB each)...", flush=True)
    bodies, md5s, want = [], [], []
    for i in range(a.clients):
        x = np.random.default_rng(i).integers(0, 4096, (frames, 32, 32), dtype=np.uint16)
        want.append(np.where(x > T, x, 0).sum(axis=(1, 2), dtype=np.uint64))
        b = io.BytesIO()
        np.save(b, x)
        bodies.append(b.getvalue())
        md5s.append(hashlib.md5(bodies[-1]).hexdigest())
        del x
    total = sum(len(b) for b in bodies)

    env = dict(os.environ, HISS_ACCESS_KEY=KEY, HISS_SECRET_KEY=SECRET)
    node = subprocess.Popen([node_bin, "--listen", "127.0.0.1:0", "--data", os.path.join(work, "data"),
                             "--max-uploads", str(max(64, a.clients))],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    endpoint = node.stdout.readline().decode().split()[-1]
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 10},
                 request_checksum_calculation="when_required", max_pool_connections=4)

    def client():
        return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                            region_name="us-east-1", config=cfg)

    s3 = client()
    s3.create_bucket(Bucket="plain")
    s3.create_bucket(Bucket="kernel")
    s3.put_object(Bucket="kernel", Key=".hiss/kernel.hbx", Body=open(bundle, "rb").read(),
                  Metadata={"hiss-param-t": str(T)})
    results = {}
    try:
        for bucket in ["plain", "kernel"]:
            print(f"{a.clients} clients upload into `{bucket}`...", flush=True)

            def upload(i, bucket=bucket):
                r = client().put_object(Bucket=bucket, Key=f"c{i}/batch.npy", Body=bodies[i])
                if r["ETag"].strip('"') != md5s[i]:
                    raise AssertionError("ETag differs from the MD5 sent")

            results[bucket] = run_threads(a.clients, upload)
            # every object (and result) read back and checked
            for i in range(a.clients):
                got = s3.get_object(Bucket=bucket, Key=f"c{i}/batch.npy")["Body"].read()
                if hashlib.md5(got).hexdigest() != md5s[i]:
                    sys.exit(f"{bucket}: object {i} differs")
                if bucket == "kernel":
                    out = s3.get_object(Bucket=bucket, Key=f".hiss/out/c{i}/batch.npy/out.npy")["Body"].read()
                    if not np.array_equal(np.load(io.BytesIO(out)), want[i]):
                        sys.exit(f"kernel: result {i} differs from numpy")
            for i in range(a.clients):
                s3.delete_object(Bucket=bucket, Key=f"c{i}/batch.npy")
    finally:
        node.terminate()
        node.wait()

    # the tier alone: staging file, fsync, rename, as the directory tier writes
    tier = os.path.join(work, "tier-alone")
    os.makedirs(os.path.join(tier, "staging"))

    def write(i):
        tmp = os.path.join(tier, "staging", str(i))
        with open(tmp, "wb") as f:
            f.write(bodies[i])
            f.flush()
            os.fsync(f.fileno())
        os.makedirs(os.path.join(tier, "bucket", f"c{i}"), exist_ok=True)
        os.rename(tmp, os.path.join(tier, "bucket", f"c{i}", "batch.npy"))

    results["tier"] = run_threads(a.clients, write)
    shutil.rmtree(work, ignore_errors=True)

    gbps = {k: total * 8 / v / 1e9 for k, v in results.items()}
    lines = [
        f"Command: `python3 scripts/bench_node.py --clients {a.clients} --mib {a.mib}` "
        f"({a.clients} clients at once, {a.mib} MiB `.npy` of 32x32 uint16 frames each, "
        f"{total / 2**30:.1f} GiB in all; every object read back and checked against its MD5, "
        "every result against numpy).",
        "",
        "| ingest | time (s) | Gbit/s | against the tier alone |",
        "|---|---:|---:|---:|",
        f"| node, no kernel | {results['plain']:.2f} | {gbps['plain']:.2f} | {gbps['plain'] / gbps['tier']:.2f}x |",
        f"| node, threshold_sum attached | {results['kernel']:.2f} | {gbps['kernel']:.2f} | "
        f"{gbps['kernel'] / gbps['tier']:.2f}x |",
        f"| the tier alone (32 writers: staging file, fsync, rename) | {results['tier']:.2f} | "
        f"{gbps['tier']:.2f} | 1.00x |",
        "",
        f"With a kernel the node ingests at {gbps['kernel'] / gbps['plain']:.2f}x its rate without one. "
        "The clients run on the same cores as the node, and the node flushes to its directory tier "
        "meanwhile; the kernel runs in the emulated slot (the cycle-accurate simulator, bit-exact with "
        "the FPGA), which is what costs the difference: on a board the frames go through the FPGA at its "
        "line rate.",
    ]
    text = "\n".join(lines)
    print(text)
    if a.update:
        replace_section(a.update, "bench_node", "Node ingest under load", text)


if __name__ == "__main__":
    main()
