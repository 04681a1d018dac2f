"""Writes pedestal_and_veto.ipynb (kept in the repository; CI executes it with
nbclient, scripts/run_notebook.py). Edit the cells here and run this again."""
import nbformat as nbf

cells = []
md = lambda s: cells.append(nbf.v4.new_markdown_cell(s))  # noqa: E731
code = lambda s: cells.append(nbf.v4.new_code_cell(s))  # noqa: E731

md("""# Pedestal tracking and a lit-pixel veto, from a notebook

Write a kernel, check it against numpy, simulate it cycle by cycle, verify the
hardware in GHDL, build it for an FPGA and deploy it to a HISS node — without
leaving Python. The data are synthetic JUNGFRAU frames (`stdlib-kernels/detectors.py`).""")

code("""import os, sys, tempfile
import numpy as np
import hiss

ROOT = os.path.abspath(os.path.join(os.getcwd(), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "stdlib-kernels"))
import detectors

rng = np.random.default_rng(42)
dark, peds, _ = detectors.jungfrau(rng, 8, (16, 32), dark=True)
print(dark.shape, dark.dtype, "gain stages:", np.unique(dark >> 14))""")

md("""## A kernel with state

The running pedestal lives in a `State`: each dark frame moves it, and the
frame leaves with the current pedestal subtracted. In CPython it is ordinary
numpy: the batch call carries the state from frame to frame.""")

code("""import numpy as np
from hiss import kernel, Array, State

K = 7

@kernel
def pedestal_track(raw: Array[np.uint16, 16, 32], acc: State[np.uint32, 16, 32]) -> Array[np.int32, 16, 32]:
    adc = raw & 0x3FFF
    dark = (raw >> 14) == 0
    pedestal = acc >> K
    acc[...] = np.where(dark, acc + adc - pedestal, acc)
    return adc.astype(np.int32) - pedestal.astype(np.int32)""")

code("""start = peds[0].astype(np.uint32) << K      # a known pedestal to start from
acc_py = start.copy()
in_python = pedestal_track(dark, acc=acc_py)   # CPython + numpy

k = hiss.compile(pedestal_track)
acc_hw = start.copy()
on_hissc = k.run(raw=dark, acc=acc_hw)        # hissc's reference interpreter
assert on_hissc.dtype == in_python.dtype and np.array_equal(on_hissc, in_python)
assert np.array_equal(acc_hw, acc_py)          # the state, updated in place
print("residual after the pedestal: mean", on_hissc.mean().round(2), "std", on_hissc.std().round(2))""")

md("""A kernel outside the language fails to compile with hissc's diagnostic,
pointing at the line of the cell:""")

code("""@kernel
def twice(raw: Array[np.uint16, 16, 32], acc: State[np.uint32, 16, 32]) -> np.uint64:
    acc[...] = acc + raw
    acc[...] = acc >> 1
    return raw.sum()

try:
    hiss.compile(twice)
    raise AssertionError("compiled")
except hiss.CompileError as e:
    print(e)
    assert "HS0309" in str(e) and ":4:5" in str(e)""")

md("""## Cycle by cycle, then in GHDL""")

code("""s = k.sim(raw=dark, acc=start.copy())
assert np.array_equal(s.outputs, in_python)
print(s.cycles, "cycles;", s.elements_per_cycle)
print(k.verify(raw=dark, acc=start.copy()))""")

code("""k.network   # the process network (a picture, with graphviz)""")

md("""## An FPGA build

`k.build` runs GHDL's synthesis, yosys, nextpnr and icetime; the report
renders as a table.""")

code("""report = k.build(target="ice40-hx8k")
assert report["resources"]["block_rams"]["used"] > 0   # the state is in block RAM
report""")

md("""## A lit-pixel veto on a HISS node

A second kernel decides which frames are worth keeping. We start a local node,
attach the veto's bundle with `hiss-keep`, upload frames and read the results
and the events back.""")

code("""@kernel
def lit_pixel_veto(photons: Array[np.int32, 16, 32], t: np.int32, min_lit: np.int64) -> tuple[np.bool_, np.int64]:
    lit = np.count_nonzero(photons >= t)
    return lit >= min_lit, lit

veto = hiss.compile(lit_pixel_veto)
photons = rng.poisson(0.05, (10, 16, 32)).astype(np.int32)
photons[[2, 5, 7]] += rng.poisson(1.5, (3, 16, 32)).astype(np.int32)   # three hits
keep, lit = veto.run(photons=photons, t=1, min_lit=60)
print("keep:", keep.astype(int), "lit:", lit)""")

code("""# a node on this machine (the installed hissc serves it, on a free port); at a beamline:
# node = hiss.Node("http://hiss-gw-1:9000", key, secret)
node = hiss.LocalNode()
print(node)

node.attach("run42", veto.bundle(os.path.join(tempfile.mkdtemp(), "veto.hbx")), params={"t": 1, "min_lit": 60}, keep="out0")
node.put("run42", "shots-0001.npy", photons)
assert np.array_equal(node.result("run42", "shots-0001.npy", "out0"), keep)
stored = np.load(__import__("io").BytesIO(node.s3.get_object(Bucket="run42", Key="shots-0001.npy")["Body"].read()))
assert np.array_equal(stored, photons[keep])      # only the kept frames are stored
events = list(node.events("run42", follow=False))
print(events[0]["key"], "frames", events[0]["frames"], "kept", events[0]["kept"], "lit", events[0]["outputs"]["out1"])
assert events[0]["kept"] == int(keep.sum())""")

code("""assert node.stop() == 0      # a graceful stop: requests in flight finish""")

nb = nbf.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
nbf.write(nb, "pedestal_and_veto.ipynb")
