"""A node's slots from Python: `hiss.LocalNode(slots=..., split_objects=True)`
shares a large object's frames among the free CPU slots (a kernel without
states), giving numpy's values and keeping a kernel with states on one slot
in order; the slots' counters show the lent slot busy."""

import os
import pathlib
import sys

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("HISSC", os.path.join(ROOT, "target", "release", "hissc"))
pytest.importorskip("boto3")
import hiss  # noqa: E402

STATELESS = """import numpy as np
from hiss import kernel, Array


@kernel
def hits(frame: Array[np.uint16, 64, 96], t: np.uint16) -> tuple[np.uint64, np.int64]:
    kept = np.where(frame > t, frame, 0)
    return kept.sum(dtype=np.uint64), np.count_nonzero(frame > t)
"""

STATEFUL = """import numpy as np
from hiss import kernel, Array, State


@kernel
def running(frame: Array[np.uint16, 16, 32], acc: State[np.uint32, 16, 32]) -> np.uint64:
    new = acc + frame
    acc[...] = new
    return new.sum(dtype=np.uint64)
"""


def test_a_large_object_is_shared_among_free_cpu_slots(tmp_path):
    rng = np.random.default_rng(3)
    f = rng.integers(0, 1000, (3000, 64, 96), dtype=np.uint16)
    big = tmp_path / "big.npy"
    np.save(big, f)  # 37 MB: a multipart upload, run from the buffer
    (tmp_path / "hits.py").write_text(STATELESS)
    (tmp_path / "running.py").write_text(STATEFUL)
    hits = hiss.compile(str(tmp_path / "hits.py")).bundle(str(tmp_path / "hits.hbx"))
    running = hiss.compile(str(tmp_path / "running.py")).bundle(str(tmp_path / "running.hbx"))
    with hiss.LocalNode(slots="cpu:3", split_objects=True) as node:
        node.attach("hits", hits, params={"t": 500})
        node.put("hits", "big.npy", pathlib.Path(big))
        np.testing.assert_array_equal(node.result("hits", "big.npy", "out0"),
                                      np.where(f > 500, f, 0).sum(axis=(1, 2), dtype=np.uint64))
        np.testing.assert_array_equal(node.result("hits", "big.npy", "out1"),
                                      np.count_nonzero(f > 500, axis=(1, 2)))
        m = node.metrics()
        busy = [v for k, v in m.items() if k.startswith("hiss_slot_busy_seconds_total")]
        frames = [v for k, v in m.items() if k.startswith("hiss_slot_frames_total")]
        assert sum(b > 0 for b in busy) >= 2, m  # a slot lent to the run was busy
        assert sum(frames) == len(f), m  # the frames count once, on the run's slot
        # a kernel with states: frames in order, on one slot, whatever is free
        g = rng.integers(0, 60000, (20000, 16, 32), dtype=np.uint16)
        many = tmp_path / "many.npy"
        np.save(many, g)  # 20 MB
        node.attach("running", running)
        node.put("running", "many.npy", pathlib.Path(many))
        want = np.cumsum(g.astype(np.uint32), axis=0, dtype=np.uint32).sum(axis=(1, 2), dtype=np.uint64)
        np.testing.assert_array_equal(node.result("running", "many.npy"), want)
