"""Detector data at the desk: DECTRIS Stream V2 messages (CBOR) whose images
the bitshuffle C library compressed, given to `hissc run`, `sim` and `verify`
as `--in frame=FILE.cbor[:CHANNEL]`, give what numpy gives on the frames.
Skips loudly without cbor2 and bitshuffle, except in CI, which installs them."""

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
except ImportError as e:  # pragma: no cover - CI installs both
    if os.environ.get("CI") == "true":
        raise
    print(f"\n!!!!!!!! SKIPPED test_detector: {e} (pip install bitshuffle cbor2) !!!!!!!!\n", file=sys.stderr)
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
