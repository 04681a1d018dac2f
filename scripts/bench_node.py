#!/usr/bin/env python3
"""Node ingest under load, side by side in one run:

- 32 clients (threads, one boto3 client each) upload 64 MiB `.npy` batches at
  once into a bucket without a kernel, then into one with threshold_sum
  attached (32x32 uint16 frames), then into one with jf_convert attached
  (JUNGFRAU modules, 512x1024 uint16 frames, its six gain and pedestal maps as
  the bucket's `.hiss/in/` objects); every object is read back and checked
  (ETag = MD5 of the bytes sent), every threshold_sum result and two
  jf_convert results against numpy: nothing lost, nothing different;
- the node's own CPU time (user + system, from /proc) per GiB ingested in
  each phase, against the floor: one pass of MD5 and SHA-256 over the same
  bytes (OpenSSL, through Python's hashlib), which a node that checks what it
  receives cannot go below;
- the tier alone: the same bodies written by 32 threads into a directory the
  way the directory tier writes them (staging file, fsync, rename).

    python3 scripts/bench_node.py [--clients 32] [--mib 64] [--slots cpu:2] [--update docs/performance.md]

A benchmark, not a test: a few minutes and about 10 GB of disk. Needs numpy and
boto3 (pip install numpy boto3) and a release build (cargo build --release).
"""
import argparse
import hashlib
import importlib.util
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
from bench_cpu import module_sized  # noqa: E402

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


def cpu_seconds(pid):
    """User + system CPU seconds of process `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def npy(x):
    b = io.BytesIO()
    np.save(b, x)
    return b.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--slots", help="the node's --slots (default: one CPU slot per core)")
    ap.add_argument("--update", help="replace the node section of this markdown file")
    a = ap.parse_args()
    node_bin = os.path.join(ROOT, "target", "release", "hiss-node")
    hissc = os.path.join(ROOT, "target", "release", "hissc")
    work = tempfile.mkdtemp(prefix="hiss-bench-node-")
    ts_bundle, jf_bundle = os.path.join(work, "ts.hbx"), os.path.join(work, "jf.hbx")
    subprocess.run([hissc, "bundle", KERNEL, "--target", "ice40-hx8k", "-o", ts_bundle], check=True,
                   capture_output=True)
    jf_src, jf_name, jf_make = module_sized("jf_convert", work)
    subprocess.run([hissc, "bundle", jf_src, "--kernel", jf_name, "--target", "ice40-hx8k", "-o", jf_bundle],
                   check=True, capture_output=True)
    spec = importlib.util.spec_from_file_location("jf", jf_src)
    jf_mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.join(ROOT, "python"))
    spec.loader.exec_module(jf_mod)
    jf_fn = getattr(jf_mod, jf_name)

    # threshold_sum's bodies: 32x32 frames
    n_ts = a.mib * 2**20 // (32 * 32 * 2)
    print(f"making {a.clients} batches of {n_ts} 32x32 frames and of {a.mib} JUNGFRAU modules...", flush=True)
    ts_bodies, ts_want = [], []
    for i in range(a.clients):
        x = np.random.default_rng(i).integers(0, 4096, (n_ts, 32, 32), dtype=np.uint16)
        ts_want.append(np.where(x > T, x, 0).sum(axis=(1, 2), dtype=np.uint64))
        ts_bodies.append(npy(x))
    # jf_convert's: 512x1024 frames (1 MiB each) and the maps of one module
    inputs, _ = jf_make(np.random.default_rng(100))
    maps = {n: v for n, v in inputs.items() if n != "raw"}
    raw = inputs["raw"]
    jf_bodies = []
    for i in range(a.clients):
        idx = np.random.default_rng(1000 + i).integers(0, raw.shape[0], a.mib)
        jf_bodies.append(npy(raw[idx]))
    total = sum(len(b) for b in ts_bodies)
    gib = total / 2**30

    # the floor: MD5 and SHA-256 of every byte, once
    t0 = time.process_time()
    for b in ts_bodies:
        hashlib.md5(b).digest()
        hashlib.sha256(b).digest()
    floor = (time.process_time() - t0) / gib

    env = dict(os.environ, HISS_ACCESS_KEY=KEY, HISS_SECRET_KEY=SECRET)
    slots = ["--slots", a.slots] if a.slots else []
    node = subprocess.Popen([node_bin, "--listen", "127.0.0.1:0", "--data", os.path.join(work, "data"),
                             "--max-uploads", str(max(64, a.clients)), *slots],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    endpoint = node.stdout.readline().decode().split()[-1]
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 10},
                 request_checksum_calculation="when_required", max_pool_connections=4)

    def client():
        return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                            region_name="us-east-1", config=cfg)

    s3 = client()
    s3.create_bucket(Bucket="plain")
    s3.create_bucket(Bucket="tsum")
    s3.put_object(Bucket="tsum", Key=".hiss/kernel.hbx", Body=open(ts_bundle, "rb").read(),
                  Metadata={"hiss-param-t": str(T)})
    s3.create_bucket(Bucket="jfconv")
    for n, v in maps.items():
        s3.put_object(Bucket="jfconv", Key=f".hiss/in/{n}.npy", Body=npy(v))
    s3.put_object(Bucket="jfconv", Key=".hiss/kernel.hbx", Body=open(jf_bundle, "rb").read())
    phases = [("plain", "node, no kernel", ts_bodies), ("tsum", "node, threshold_sum attached", ts_bodies),
              ("jfconv", "node, jf_convert attached (512x1024 frames)", jf_bodies)]
    wall, cpu = {}, {}
    try:
        for bucket, _, bodies in phases:
            print(f"{a.clients} clients upload into `{bucket}`...", flush=True)
            md5s = [hashlib.md5(b).hexdigest() for b in bodies]

            def upload(i, bucket=bucket, bodies=bodies, md5s=md5s):
                r = client().put_object(Bucket=bucket, Key=f"c{i}/batch.npy", Body=bodies[i])
                if r["ETag"].strip('"') != md5s[i]:
                    raise AssertionError("ETag differs from the MD5 sent")

            c0 = cpu_seconds(node.pid)
            wall[bucket] = run_threads(a.clients, upload)
            cpu[bucket] = (cpu_seconds(node.pid) - c0) / (sum(len(b) for b in bodies) / 2**30)
            # every object (and result) read back and checked
            for i in range(a.clients):
                got = s3.get_object(Bucket=bucket, Key=f"c{i}/batch.npy")["Body"].read()
                if hashlib.md5(got).hexdigest() != md5s[i]:
                    sys.exit(f"{bucket}: object {i} differs")
                out = None
                if bucket == "tsum":
                    out, want = f".hiss/out/c{i}/batch.npy/out.npy", ts_want[i]
                elif bucket == "jfconv" and i in (0, a.clients - 1):
                    x = np.load(io.BytesIO(bodies[i]))
                    want = np.stack([jf_fn(raw=f, **maps) for f in x])
                    out = f".hiss/out/c{i}/batch.npy/out.npy"
                if out:
                    got = np.load(io.BytesIO(s3.get_object(Bucket=bucket, Key=out)["Body"].read()))
                    if got.dtype != want.dtype or not np.array_equal(got, want):
                        sys.exit(f"{bucket}: result {i} differs from numpy")
            for i in range(a.clients):
                s3.delete_object(Bucket=bucket, Key=f"c{i}/batch.npy")
                if bucket != "plain":
                    s3.delete_object(Bucket=bucket, Key=f".hiss/out/c{i}/batch.npy/out.npy")
    finally:
        node.terminate()
        node.wait()

    # the tier alone: staging file, fsync, rename, as the directory tier writes
    tier = os.path.join(work, "tier-alone")
    os.makedirs(os.path.join(tier, "staging"))

    def write(i):
        tmp = os.path.join(tier, "staging", str(i))
        with open(tmp, "wb") as f:
            f.write(ts_bodies[i])
            f.flush()
            os.fsync(f.fileno())
        os.makedirs(os.path.join(tier, "bucket", f"c{i}"), exist_ok=True)
        os.rename(tmp, os.path.join(tier, "bucket", f"c{i}", "batch.npy"))

    wall["tier"] = run_threads(a.clients, write)
    shutil.rmtree(work, ignore_errors=True)

    gbps = {k: total * 8 / v / 1e9 for k, v in wall.items()}
    slots_text = a.slots or f"one CPU slot per core ({os.cpu_count()})"
    lines = [
        f"Command: `python3 scripts/bench_node.py --clients {a.clients} --mib {a.mib}` "
        f"({a.clients} clients at once, {a.mib} MiB `.npy` each, {gib:.1f} GiB per phase; every object "
        "read back and checked against its MD5, every threshold_sum result and two jf_convert results "
        f"against numpy). Slots: {slots_text}.",
        "",
        "| ingest | time (s) | Gbit/s | against the tier alone | node CPU s per GiB | against the floor |",
        "|---|---:|---:|---:|---:|---:|",
        f"| one pass of MD5 + SHA-256 (OpenSSL) — the floor | | | | {floor:.2f} | 1.00x |",
    ]
    for bucket, label, _ in phases:
        lines.append(f"| {label} | {wall[bucket]:.2f} | {gbps[bucket]:.2f} | {gbps[bucket] / gbps['tier']:.2f}x "
                     f"| {cpu[bucket]:.2f} | {cpu[bucket] / floor:.2f}x |")
    lines += [
        f"| the tier alone (32 writers: staging file, fsync, rename) | {wall['tier']:.2f} | "
        f"{gbps['tier']:.2f} | 1.00x | | |",
        "",
        f"A kernel adds {cpu['tsum'] - cpu['plain']:.2f} s of node CPU per GiB (threshold_sum) and "
        f"{cpu['jfconv'] - cpu['plain']:.2f} s (jf_convert, whose int32 result is twice its input and is "
        "written too). With threshold_sum the node ingests at "
        f"{gbps['tsum'] / gbps['plain']:.2f}x its rate without a kernel. The clients run on the same cores "
        "as the node, and the node flushes to its directory tier meanwhile.",
    ]
    text = "\n".join(lines)
    print(text)
    if a.update:
        replace_section(a.update, "bench_node", "Node ingest under load", text)


if __name__ == "__main__":
    main()
