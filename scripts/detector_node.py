#!/usr/bin/env python3
"""Detector files through a HISS node at EIGER size (issue 26's figures).

    python3 scripts/detector_node.py [--frames 1000] [--big-gb 2] [--update docs/detector-data.md]

1. A run of `--frames` EIGER-like frames (514 x 1030 uint16, Poisson counts,
   every fifth frame with a bright spot) written as DECTRIS's and MAX IV's
   writers do: an HDF5 file, `/entry/data/data`, one bitshuffle-LZ4 chunk per
   frame (compressed by the bitshuffle C library, stored with
   `write_direct_chunk`), and the same frames as a Stream V2 series (CBOR).
   Both go through a node (`hiss.LocalNode`) with two kernels attached:
   threshold_sum (examples/threshold_sum at 514 x 1030) and lit_pixel_veto
   (stdlib-kernels/lit_pixel_veto at 514 x 1030 on uint16 counts, its keep
   output deciding what is stored); and the same frames as a `.npy` object
   stored with `hiss-store: bslz4`. Results must equal numpy on the decoded
   frames; kept frames read back with h5py + hdf5plugin (or, for the series,
   decoded from its kept messages) must equal the frames sent.
2. One HDF5 object of `--big-gb` GB (frames of uniform random counts, which
   bitshuffle-LZ4 cannot shrink) through threshold_sum: the node's peak
   resident memory (VmHWM of its process) is reported against the object's size.

Prints a table; `--update FILE` writes it between FILE's `detector-node`
markers. Needs h5py, hdf5plugin, bitshuffle, cbor2, boto3 and hissc built
(`cargo build --release`; `HISSC` names another).
"""

import argparse
import io
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
# this checkout's hissc (and its node), unless HISSC names another
os.environ.setdefault("HISSC", str(ROOT / "target/release/hissc"))
sys.path.insert(0, str(ROOT / "scripts"))

import bitshuffle  # noqa: E402
import cbor2  # noqa: E402
import h5py  # noqa: E402
import hdf5plugin  # noqa: E402

import hiss  # noqa: E402

H, W = 514, 1030


def bslz4(a):
    """A frame as the bitshuffle HDF5 filter frames it."""
    block = (8192 // a.itemsize) // 8 * 8
    blocks = bitshuffle.compress_lz4(a.ravel(), block).tobytes()
    return a.nbytes.to_bytes(8, "big") + (block * a.itemsize).to_bytes(4, "big") + blocks


def eiger_frames(n, rng):
    """n frames from 50 distinct Poisson frames, each made unique by its index
    in pixel (0, 0); every fifth with a bright spot."""
    base = rng.poisson(0.4, (50, H, W)).astype(np.uint16)
    for i in range(n):
        f = base[i % 50].copy()
        f[0, 0] = i
        if i % 5 == 0:
            f[100:110, 200:210] = 4000
        yield f


def write_h5(path, frames, n, dtype=np.uint16):
    with h5py.File(path, "w") as h:
        ds = h.create_dataset("/entry/data/data", shape=(n, H, W), dtype=dtype, chunks=(1, H, W),
                              **hdf5plugin.Bitshuffle(nelems=0, cname="lz4"))
        for i, f in enumerate(frames):
            ds.id.write_direct_chunk((i, 0, 0), bslz4(f))


def stream_v2(frames):
    out = [cbor2.dumps({"type": "start", "series_id": 1, "image_dtype": "uint16"})]
    for i, f in enumerate(frames):
        typed = cbor2.CBORTag(69, cbor2.CBORTag(56500, ["bslz4", 2, bslz4(f)]))
        out.append(cbor2.dumps({"type": "image", "series_id": 1, "image_id": i,
                                "data": {"threshold_1": cbor2.CBORTag(40, [[H, W], typed])}}))
    out.append(cbor2.dumps({"type": "end", "series_id": 1}))
    return b"".join(out)


def kernels(work):
    ts = (ROOT / "examples/threshold_sum/kernel.py").read_text().replace("32, 32", f"{H}, {W}")
    lpv = (ROOT / "stdlib-kernels/lit_pixel_veto/kernel.py").read_text()
    lpv = lpv.replace("H, W = 16, 32", f"H, W = {H}, {W}")
    lpv = lpv.replace("Array[np.int32, H, W], t: np.int32", "Array[np.uint16, H, W], t: np.uint16")
    out = {}
    for name, src in (("threshold_sum", ts), ("lit_pixel_veto", lpv)):
        p = pathlib.Path(work) / f"{name}.py"
        p.write_text(src)
        out[name] = hiss.compile(str(p)).bundle(str(pathlib.Path(work) / f"{name}.hbx"))
    return out


def peak_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def frames_of_series(data):
    """The images of a Stream V2 series' bytes, decoded."""
    out = []
    for m in iter_cbor(data):
        if m.get("type") == "image":
            blob = m["data"]["threshold_1"].value[1].value.value[2]
            n = int.from_bytes(blob[:8], "big") // 2
            bs = int.from_bytes(blob[8:12], "big") // 2
            a = bitshuffle.decompress_lz4(np.frombuffer(blob[12:], np.uint8), (n,), np.dtype(np.uint16), bs)
            out.append(a.reshape(H, W))
    return np.array(out)


def iter_cbor(data):
    f = io.BytesIO(data)
    while f.tell() < len(data):
        yield cbor2.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--big-gb", type=float, default=2.0)
    ap.add_argument("--update", help="write the table into this file's detector-node section")
    a = ap.parse_args()
    rng = np.random.default_rng(5)
    rows = []
    with tempfile.TemporaryDirectory(prefix="hiss-detector-") as work:
        bundles = kernels(work)
        h5 = pathlib.Path(work) / "run_000001.h5"
        t = time.time()
        write_h5(h5, eiger_frames(a.frames, rng), a.frames)
        series = stream_v2(eiger_frames(a.frames, np.random.default_rng(5)))
        print(f"wrote {a.frames} frames: HDF5 {h5.stat().st_size / 1e6:.0f} MB, "
              f"Stream V2 {len(series) / 1e6:.0f} MB ({time.time() - t:.0f} s)", flush=True)
        frames = np.array(list(eiger_frames(a.frames, np.random.default_rng(5))))
        raw_mb = frames.nbytes / 1e6
        want_sum = np.where(frames > 3, frames, 0).sum(axis=(1, 2), dtype=np.uint64)
        lit = np.count_nonzero(frames >= 1000, axis=(1, 2))
        keep = lit >= 50
        with hiss.LocalNode() as node:
            node.attach("sums", bundles["threshold_sum"], params={"t": 3})
            node.attach("veto", bundles["lit_pixel_veto"], params={"t": 1000, "min_lit": 50}, keep="out0")
            objects = (("HDF5", "run.h5", pathlib.Path(h5), h5.stat().st_size),
                       ("Stream V2", "run.cbor", series, len(series)),
                       (".npy, `hiss-store: bslz4`", "run.npy", frames, frames.nbytes + 128))
            for what, key, body, sent in objects:
                store = "bslz4" if key.endswith(".npy") else None
                t = time.time()
                node.put("sums", key, body)
                ts = time.time() - t
                assert (node.result("sums", key) == want_sum).all(), f"{what}: threshold_sum differs from numpy"
                t = time.time()
                node.put("veto", key, body, store=store)
                tv = time.time() - t
                assert (node.result("veto", key, "out0") == keep).all(), f"{what}: keep flags differ"
                assert (node.result("veto", key, "out1") == lit).all(), f"{what}: lit counts differ"
                stored = node.get("veto", key)
                if key.endswith((".h5", ".npy")):
                    with h5py.File(io.BytesIO(stored), "r") as f:
                        back = f["/entry/data/data"][()]
                else:
                    back = frames_of_series(stored)
                assert back.shape == frames[keep].shape and (back == frames[keep]).all(), \
                    f"{what}: the kept frames read back differ"
                rows.append((what, a.frames, sent / 1e6, raw_mb, ts, tv, int(keep.sum()), len(stored) / 1e6))
                print(f"{what}: results equal numpy, {keep.sum()} kept frames read back equal", flush=True)
            peak_run = peak_mb(node.process.pid)
        # one large object: node memory against the object's size
        n_big = int(a.big_gb * 1e9 / (H * W * 2)) + 1
        big = pathlib.Path(work) / "big.h5"
        brng = np.random.default_rng(9)
        write_h5(big, (brng.integers(0, 65535, (H, W), dtype=np.uint16) for _ in range(n_big)), n_big)
        big_gb = big.stat().st_size / 1e9
        with hiss.LocalNode() as node:
            node.attach("big", bundles["threshold_sum"], params={"t": 3})
            before = peak_mb(node.process.pid)
            t = time.time()
            node.put("big", "big.h5", pathlib.Path(big))
            tb = time.time() - t
            assert len(node.result("big", "big.h5")) == n_big
            peak_big = peak_mb(node.process.pid)
    table = [
        "| object | frames | bytes sent (MB) | frames (MB) | threshold_sum (s) | lit_pixel_veto (s) | kept | stored (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for what, n, sent, raw, ts, tv, kept, stored in rows:
        table.append(f"| {what} | {n} | {sent:.0f} | {raw:.0f} | {ts:.1f} | {tv:.1f} | {kept} | {stored:.1f} |")
    table.append("")
    table.append(f"Node peak resident memory over every object above: {peak_run:.0f} MB. "
                 f"One HDF5 object of {big_gb:.2f} GB ({n_big} incompressible frames) through "
                 f"threshold_sum: {tb:.0f} s, node peak resident memory {peak_big:.0f} MB "
                 f"({before:.0f} MB before it).")
    text = "\n".join(table)
    print(text)
    if a.update:
        from mdsection import replace_section
        replace_section(a.update, "detector-node", "Detector files through a node (`scripts/detector_node.py`)",
                        f"Command: `python3 scripts/detector_node.py --frames {a.frames} --big-gb {a.big_gb:g}`.\n\n" + text)


if __name__ == "__main__":
    main()
