"""Detector data at the desk and in a node: DECTRIS Stream V2 messages (CBOR)
whose images the bitshuffle C library compressed, and HDF5 files h5py and
hdf5plugin wrote as beamlines do (one bitshuffle-LZ4 chunk per frame), given to
`hissc run`, `sim` and `verify` as `--in frame=FILE.cbor[:CHANNEL]` and
`--in frame=FILE.h5[:/dataset]`, give what numpy gives on the frames; through
a node, kept frames stored as bitshuffle-LZ4 HDF5 read back in h5py as the
frames sent. Skips loudly without cbor2, bitshuffle, h5py and hdf5plugin,
except in CI, which installs them."""

import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HISSC = os.environ.get("HISSC", os.path.join(ROOT, "target", "release", "hissc"))

try:
    import bitshuffle
    import cbor2
    import h5py
    import hdf5plugin
except ImportError as e:  # pragma: no cover - CI installs them
    if os.environ.get("CI") == "true":
        raise
    print(f"\n!!!!!!!! SKIPPED test_detector: {e} (pip install bitshuffle cbor2 h5py hdf5plugin) !!!!!!!!\n",
          file=sys.stderr)
    pytest.skip(f"{e}", allow_module_level=True)

KERNEL = """import numpy as np
from hiss import kernel, Array


@kernel
def hits(frame: Array[np.uint16, 48, 80], t: np.uint16) -> tuple[np.uint64, np.int64]:
    kept = np.where(frame > t, frame, 0)
    return kept.sum(dtype=np.uint64), np.count_nonzero(frame > t)
"""


def bslz4(a):
    """A frame as the bitshuffle HDF5 filter frames it (the C library's blocks)."""
    block = (8192 // a.itemsize) // 8 * 8
    blocks = bitshuffle.compress_lz4(a.ravel(), block).tobytes()
    return a.nbytes.to_bytes(8, "big") + (block * a.itemsize).to_bytes(4, "big") + blocks


def image(i, channels):
    data = {}
    for name, f in channels.items():
        typed = cbor2.CBORTag(69, cbor2.CBORTag(56500, ["bslz4", 2, bslz4(f)]))
        data[name] = cbor2.CBORTag(40, [list(f.shape), typed])
    return cbor2.dumps({"type": "image", "image_id": i, "series_id": 1, "data": data})


def frames(n, rng):
    f = rng.poisson(0.6, (n, 48, 80)).astype(np.uint16)
    f[rng.random(f.shape) < 0.02] = rng.integers(100, 65535)
    return f


def hissc(*args):
    p = subprocess.run([HISSC, *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def test_stream_v2_images_run_as_numpy_computes(tmp_path):
    rng = np.random.default_rng(11)
    low, high = frames(7, rng), frames(7, rng)
    body = cbor2.dumps({"type": "start", "image_dtype": "uint16", "channels": ["threshold_1", "threshold_2"]})
    body += b"".join(image(i, {"threshold_1": low[i], "threshold_2": high[i]}) for i in range(7))
    body += cbor2.dumps({"type": "end", "series_id": 1})
    cbor = tmp_path / "series.cbor"
    cbor.write_bytes(body)
    k = tmp_path / "hits.py"
    k.write_text(KERNEL)
    for channel, f in (("threshold_1", low), ("threshold_2", high)):
        want_sum = np.array([np.where(x > 3, x, 0).sum(dtype=np.uint64) for x in f])
        want_n = np.array([np.count_nonzero(x > 3) for x in f])
        for stage in ("run", "sim", "verify"):
            out = tmp_path / f"{stage}-{channel}"
            rc, text = hissc(stage, str(k), "--in", f"frame={cbor}:{channel}", "--param", "t=3", "--out", str(out))
            assert rc == 0, text
            np.testing.assert_array_equal(np.load(out / "out0.npy"), want_sum)
            np.testing.assert_array_equal(np.load(out / "out1.npy"), want_n)
    # two channels and none named: the refusal names them
    rc, text = hissc("run", str(k), "--in", f"frame={cbor}", "--param", "t=3", "--out", str(tmp_path / "x"))
    assert rc == 1 and "`threshold_1`, `threshold_2`" in text, text


def test_a_damaged_stream_is_refused_with_where(tmp_path):
    rng = np.random.default_rng(12)
    f = frames(2, rng)
    good = image(0, {"c": f[0]})
    # cut inside the second message's compressed image
    cbor = tmp_path / "cut.cbor"
    cbor.write_bytes(good + image(1, {"c": f[1]})[:-40])
    k = tmp_path / "hits.py"
    k.write_text(KERNEL)
    rc, text = hissc("run", str(k), "--in", f"frame={cbor}", "--param", "t=3", "--out", str(tmp_path / "o"))
    assert rc == 1 and "message 1" in text and "panicked" not in text, text


def test_a_stream_v2_series_through_a_node(tmp_path):
    """`hiss.Node.put` of a Stream V2 series: results as numpy computes them on
    the decoded frames; with `hiss-keep`, the stored object is the series' own
    messages with only the kept images."""
    pytest.importorskip("boto3")
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import hiss

    rng = np.random.default_rng(13)
    f = frames(12, rng)
    f[::3, :4, :4] = 60000  # every third frame bright
    start = cbor2.dumps({"type": "start", "series_id": 2})
    images = [image(i, {"threshold_1": x}) for i, x in enumerate(f)]
    series = start + b"".join(images)
    k = tmp_path / "veto.py"
    k.write_text(KERNEL.replace("-> tuple[np.uint64, np.int64]:", "-> tuple[np.bool_, np.uint64]:").replace(
        "return kept.sum(dtype=np.uint64), np.count_nonzero(frame > t)",
        "return np.count_nonzero(frame > t) >= 16, kept.sum(dtype=np.uint64)"))
    kernel = hiss.compile(str(k))
    with hiss.LocalNode() as node:
        node.attach("eiger", kernel.bundle(str(tmp_path / "veto.hbx")), params={"t": 50000}, keep="out0")
        node.put("eiger", "s.cbor", series)
        keep = np.count_nonzero(f > 50000, axis=(1, 2)) >= 16
        np.testing.assert_array_equal(node.result("eiger", "s.cbor", "out0"), keep)
        np.testing.assert_array_equal(node.result("eiger", "s.cbor", "out1"),
                                      np.where(f > 50000, f, 0).sum(axis=(1, 2), dtype=np.uint64))
        assert node.get("eiger", "s.cbor") == start + b"".join(m for m, k in zip(images, keep) if k)


def write_h5(path, f, dataset="/entry/data/data"):
    """Frames as MAX IV's receiver writes them: each frame compressed once and
    its blob stored as the frame's chunk of a bitshuffle-LZ4 dataset."""
    with h5py.File(path, "a") as h:
        ds = h.create_dataset(dataset, shape=f.shape, dtype=f.dtype, chunks=(1,) + f.shape[1:],
                              **hdf5plugin.Bitshuffle(nelems=0, cname="lz4"))
        for i, x in enumerate(f):
            ds.id.write_direct_chunk((i,) + (0,) * (f.ndim - 1), bslz4(x))


def read_h5(data):
    """The frames of an HDF5 file's bytes, as h5py with hdf5plugin reads them."""
    import io
    with h5py.File(io.BytesIO(data), "r") as h:
        ds = h["/entry/data/data"]
        assert ds.chunks == (1,) + ds.shape[1:] and "32008" in ds._filters, (ds.chunks, ds._filters)
        return ds[()]


def test_hdf5_files_run_as_numpy_computes(tmp_path):
    rng = np.random.default_rng(21)
    f, g = frames(9, rng), frames(4, rng)
    h5 = tmp_path / "run_000001.h5"
    write_h5(h5, f)
    with h5py.File(h5, "a") as h:  # a second dataset, deflate-compressed
        h.create_dataset("/entry/data/dark", data=g, chunks=(2, 48, 80), compression="gzip", shuffle=True)
    k = tmp_path / "hits.py"
    k.write_text(KERNEL)
    for spec, x in ((f"{h5}", f), (f"{h5}:/entry/data/dark", g)):
        for stage in ("run", "sim", "verify"):
            out = tmp_path / f"{stage}-{len(x)}"
            rc, text = hissc(stage, str(k), "--in", f"frame={spec}", "--param", "t=3", "--out", str(out))
            assert rc == 0, text
            np.testing.assert_array_equal(np.load(out / "out0.npy"),
                                          np.where(x > 3, x, 0).sum(axis=(1, 2), dtype=np.uint64))
            np.testing.assert_array_equal(np.load(out / "out1.npy"), np.count_nonzero(x > 3, axis=(1, 2)))
    rc, text = hissc("run", str(k), "--in", f"frame={h5}:/entry/instrument", "--param", "t=3",
                     "--out", str(tmp_path / "x"))
    assert rc == 1 and "no `/entry/instrument`" in text and "panicked" not in text, text


def veto_kernel(tmp_path):
    import hiss
    k = tmp_path / "veto.py"
    k.write_text(KERNEL.replace("-> tuple[np.uint64, np.int64]:", "-> tuple[np.bool_, np.uint64]:").replace(
        "return kept.sum(dtype=np.uint64), np.count_nonzero(frame > t)",
        "return np.count_nonzero(frame > t) >= 16, kept.sum(dtype=np.uint64)"))
    return hiss.compile(str(k)).bundle(str(tmp_path / "veto.hbx"))


def test_an_hdf5_file_through_a_node(tmp_path):
    """`hiss.Node.put` of an HDF5 file: results as numpy computes them on its
    frames; kept frames stored as bitshuffle-LZ4 HDF5 (the file's own chunks)
    that h5py reads as the frames sent; a file whose frames are not the
    kernel's is refused with the reason, and nothing is stored."""
    pytest.importorskip("boto3")
    import boto3.exceptions
    import botocore.exceptions
    refused = (botocore.exceptions.ClientError, boto3.exceptions.S3UploadFailedError)
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import hiss
    import pathlib

    rng = np.random.default_rng(22)
    f = frames(15, rng)
    f[::4, :4, :4] = 60000  # every fourth frame bright
    h5 = tmp_path / "run.h5"
    write_h5(h5, f)
    other = tmp_path / "other.h5"
    write_h5(other, f[:5], dataset="/scan/frames")
    wrong = tmp_path / "wrong.h5"
    write_h5(wrong, frames(3, rng)[:, :40, :])
    keep = np.count_nonzero(f > 50000, axis=(1, 2)) >= 16
    with hiss.LocalNode() as node:
        node.attach("eiger", veto_kernel(tmp_path), params={"t": 50000}, keep="out0")
        node.put("eiger", "run.h5", pathlib.Path(h5))
        np.testing.assert_array_equal(node.result("eiger", "run.h5", "out0"), keep)
        np.testing.assert_array_equal(node.result("eiger", "run.h5", "out1"),
                                      np.where(f > 50000, f, 0).sum(axis=(1, 2), dtype=np.uint64))
        stored = node.get("eiger", "run.h5")
        np.testing.assert_array_equal(read_h5(stored), f[keep])
        # another dataset, named by the object's metadata
        node.put("eiger", "other.h5", pathlib.Path(other), dataset="/scan/frames")
        np.testing.assert_array_equal(node.result("eiger", "other.h5", "out0"), keep[:5])
        with pytest.raises(refused) as e:
            node.put("eiger", "wrong.h5", pathlib.Path(wrong))
        assert "takes `uint16` [48, 80]" in str(e.value) and "[40, 80]" in str(e.value), str(e.value)
        with pytest.raises(refused) as e:
            node.put("eiger", "none.h5", pathlib.Path(h5), dataset="/entry/nothing")
        assert "no `/entry/nothing`" in str(e.value), str(e.value)
        keys = [o["Key"] for o in node.s3.list_objects_v2(Bucket="eiger").get("Contents", [])]
        assert "wrong.h5" not in keys and "none.h5" not in keys, keys


def test_kept_frames_of_npy_objects_stored_as_bslz4(tmp_path):
    """`store="bslz4"` on the bucket: a `.npy` object's kept frames are stored
    as bitshuffle-LZ4 HDF5, much smaller than what was received."""
    pytest.importorskip("boto3")
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import hiss

    rng = np.random.default_rng(23)
    f = frames(20, rng)
    f[1::2, :4, :4] = 60000
    keep = np.count_nonzero(f > 50000, axis=(1, 2)) >= 16
    with hiss.LocalNode() as node:
        node.attach("jungfrau", veto_kernel(tmp_path), params={"t": 50000}, keep="out0", store="bslz4")
        node.put("jungfrau", "a.npy", f)
        stored = node.get("jungfrau", "a.npy")
        np.testing.assert_array_equal(read_h5(stored), f[keep])
        assert len(stored) < f[keep].nbytes / 2, (len(stored), f[keep].nbytes)
        # an object may say otherwise: stored as received
        node.put("jungfrau", "b.npy", f, store="as-received")
        np.testing.assert_array_equal(np.load(__import__("io").BytesIO(node.get("jungfrau", "b.npy"))), f[keep])
        # a store the node does not know is refused before anything runs
        import botocore.exceptions
        with pytest.raises(botocore.exceptions.ClientError) as e:
            node.put("jungfrau", "c.npy", f, store="zip")
        assert "`as-received` or as `bslz4`" in str(e.value), str(e.value)
        # and a Stream V2 series the bucket stores as bslz4 HDF5 too
        series = b"".join(image(i, {"c": x}) for i, x in enumerate(f))
        node.put("jungfrau", "s.cbor", series)
        np.testing.assert_array_equal(read_h5(node.get("jungfrau", "s.cbor")), f[keep])
