"""The hissc toolchain from Python: compile, check, build and bundle a kernel
without leaving the notebook.

Every call runs the same ``hissc`` binary as the command line (no second
implementation): the wheel carries it, ``HISSC`` names another one. A kernel
is a ``@kernel`` function (its whole cell, or file, is the source) or a path::

    k = hiss.compile(pedestal_track, lanes=4)
    out = k.run(frame=frames)                  # numpy arrays, numpy's dtypes
    s = k.sim(frame=frames); s.cycles, s.elements_per_cycle
    k.verify(frame=frames)                     # GHDL against the simulator
    report = k.build(target="ice40-hx8k")      # renders as a table in Jupyter
    k.bundle("pedestal.hbx")
    k.vhdl, k.network                          # text; k.network renders as SVG

A compile error raises :class:`CompileError` whose message is hissc's
diagnostic, pointing at the line of the cell or file.
"""

import ast
import builtins
import html
import inspect
import json
import linecache
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

import numpy as np

__all__ = ["compile", "Kernel", "CompileError", "HisscError", "ToolchainMissing", "hissc_path",
           "SimResult", "BuildReport", "Network"]


class HisscError(RuntimeError):
    """hissc failed: the message is its own."""


class CompileError(HisscError):
    """The kernel is not in the language: the message is hissc's diagnostic."""

    def _repr_html_(self):
        return f"<pre style='color:#a00'>{html.escape(str(self))}</pre>"


class ToolchainMissing(HisscError):
    """No hissc binary: the kernels still run in CPython (the pure-Python package)."""


def hissc_path():
    """The hissc binary: ``$HISSC``, the one the wheel installed, or a build of
    this repository (``target/release/hissc``)."""
    env = os.environ.get("HISSC")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [
        os.path.join(os.path.dirname(sys.executable), "hissc"),
        shutil.which("hissc"),
        os.path.join(here, "..", "..", "target", "release", "hissc"),
    ]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    raise ToolchainMissing(
        "hissc is not installed: `pip install ./python` (with Rust installed) builds it into the "
        "package, or set HISSC to a hissc binary; kernels still run in CPython meanwhile"
    )


def _hissc(args, error=HisscError, progress=None, cwd=None):
    """Runs hissc (in `cwd`); its exit status 1 is a user error (`error`), 2 a bug in hissc."""
    cmd = [hissc_path(), *map(str, args)]
    if progress is None:
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
        out, err = p.stdout, p.stderr
    else:
        # the stages arrive on stderr as JSON objects as they start
        # (`--progress json`); anything else there is a message; the report is
        # on stdout
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
        lines = []
        for line in p.stderr:
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if isinstance(event, dict) and "event" in event:
                progress(event)
            else:
                lines.append(line)
        out = p.stdout.read()
        p.wait()
        err = "".join(lines)
    if p.returncode == 1:
        raise error((err or out).strip())
    if p.returncode != 0:
        raise HisscError(f"hissc {args[0]} failed (exit {p.returncode}): {(err or out).strip()}")
    return out, err


def _source_of(fn):
    """The kernel file for a @kernel function: the statements of its notebook
    cell or module that the kernel needs (numpy and hiss imports, the kernel and
    the helpers it calls, the constants they read), every other line left blank
    so that diagnostics point at the cell's own lines; constants the kernel reads
    from earlier cells are appended. Gives the text and a name for diagnostics."""
    fn = getattr(fn, "__hiss_kernel__", fn)
    path = inspect.getsourcefile(fn) or "<kernel>"
    linecache.checkcache(path)  # a file edited since (notebook cells are kept as they are)
    lines = linecache.getlines(path)
    if not lines:
        lines = inspect.getsourcelines(fn)[0]
    name = os.path.basename(path)
    m = re.match(r"<ipython-input-(\d+)-", name) or re.search(r"ipykernel_\d+/(\d+)", path)
    if m:
        name = "cell.py"
    elif not name.endswith(".py"):
        name = "kernel.py"
    try:
        tree = ast.parse("".join(lines))
    except SyntaxError:
        return "".join(lines), name, 0  # hissc reports it
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    wanted, todo = set(), [fn.__name__]
    while todo:
        f = todo.pop()
        if f in funcs and f not in wanted:
            wanted.add(f)
            todo.extend(_reads(funcs[f]))
    names = set().union(*(_reads(funcs[f]) for f in wanted)) if wanted else set()
    keep, bound = set(), set(wanted)
    for node in tree.body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        span = range(first, node.end_lineno + 1)
        if isinstance(node, ast.FunctionDef):
            if node.name in wanted:
                keep.update(span)
        elif isinstance(node, ast.Import):
            if all(a.name in ("numpy", "hiss") for a in node.names):
                keep.update(span)
                bound.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.module in ("hiss", "numpy", "typing"):
                keep.update(span)
                bound.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Assign):
            targets = {x.id for t in node.targets for x in ast.walk(t) if isinstance(x, ast.Name)}
            if targets & names:
                keep.update(span)
                bound |= targets
                names |= _reads(node.value)
    text = [line if i + 1 in keep else "\n" for i, line in enumerate(lines)]
    # what the kernel reads from earlier cells: numpy and hiss names as imports
    # (before the kernel, as Python needs them), constants after it
    # and helper functions from earlier cells, with what they read in turn
    head = []
    import hiss as _hiss
    todo = [(n, fn.__globals__) for n in sorted(names - bound - set(dir(builtins)))]
    seen = set(bound) | set(dir(builtins))
    while todo:
        n, scope = todo.pop(0)
        if n in seen:
            continue
        seen.add(n)
        v = scope.get(n)
        if v is np:
            head.append(f"import numpy as {n}\n")
        elif any(getattr(_hiss, a, None) is v for a in dir(_hiss)) and not inspect.ismodule(v):
            attr = next(a for a in dir(_hiss) if getattr(_hiss, a, None) is v)
            head.append(f"from hiss import {attr} as {n}\n" if attr != n else f"from hiss import {n}\n")
        elif inspect.isfunction(v) and not hasattr(v, "__hiss_kernel__"):
            helper = _helper_source(v)
            if helper is not None:
                src, reads = helper
                text.append("\n" + src if src.endswith("\n") else "\n" + src + "\n")
                todo.extend((m, v.__globals__) for m in sorted(reads - seen))
        else:
            lit = _constant(v)
            if lit is not None:
                text.append(f"{n} = {lit}\n")
    return "".join(head + text), name, len(head)


def _reads(node):
    """The names a statement reads from outside itself (a function's own
    parameters and locals left out)."""
    loads = {x.id for x in ast.walk(node) if isinstance(x, ast.Name) and isinstance(x.ctx, ast.Load)}
    if isinstance(node, ast.FunctionDef):
        a = node.args
        local = {p.arg for p in a.posonlyargs + a.args + a.kwonlyargs}
        local |= {x.id for x in ast.walk(node) if isinstance(x, ast.Name) and isinstance(x.ctx, ast.Store)}
        loads -= local
    return loads


def _helper_source(fn):
    """A helper function defined in another cell or module: its source, and the
    names it reads from outside itself; None when Python does not have its text."""
    try:
        src = textwrap.dedent(inspect.getsource(fn))
        node = ast.parse(src).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return None
    if not isinstance(node, ast.FunctionDef) or node.name != fn.__name__:
        return None
    return src, _reads(node) - {node.name}


def _constant(v):
    """A module-level value as kernel source, if the language has it: Python
    ints, bools and finite floats, numpy integer scalars, tuples and lists of
    those (nested: ROI lists), integer arrays (tables)."""
    if isinstance(v, bool) or isinstance(v, int):
        return repr(v)
    if isinstance(v, float):
        return repr(v) if np.isfinite(v) else None
    if isinstance(v, np.generic) and v.dtype.kind in "biu":
        return f"np.{v.dtype.name}({int(v)})"
    if isinstance(v, (tuple, list)):
        items = [_constant(x) for x in v]
        if any(x is None for x in items):
            return None
        if isinstance(v, list):
            return "[" + ", ".join(items) + "]"
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(v, np.ndarray) and v.ndim >= 1 and v.dtype.kind in "biu":
        return f"np.array({v.tolist()}, dtype=np.{v.dtype.name})"
    return None


class Network:
    """A kernel's process network: its text form, and its picture (graphviz) in Jupyter."""

    def __init__(self, text, dot):
        self.text, self.dot = text, dot

    def __str__(self):
        return self.text

    def __repr__(self):
        return self.text

    def svg(self):
        """The picture as SVG (graphviz's `dot`), or None without graphviz."""
        exe = shutil.which("dot")
        if not exe:
            return None
        p = subprocess.run([exe, "-Tsvg"], input=self.dot, capture_output=True, text=True)
        return p.stdout if p.returncode == 0 else None

    def _repr_svg_(self):
        return self.svg()


class SimResult:
    """What `Kernel.sim` gives: the outputs (as `run`), the cycles simulated and
    each input's elements per cycle."""

    def __init__(self, outputs, states, figures):
        # `figures` is what `hissc sim --json` printed
        self.outputs, self.states, self.figures = outputs, states, figures
        self.cycles = figures["cycles"]
        self.latency = figures["latency"]
        self.frame_period = figures["frame_period"]
        self.elements_per_cycle = dict(figures["elements_per_cycle"])

    def __repr__(self):
        return f"SimResult(cycles={self.cycles}, elements_per_cycle={self.elements_per_cycle})"


class BuildReport(dict):
    """A build's report.json (every figure with its source); a table in Jupyter."""

    def _repr_html_(self):
        rows = []

        def value(v):
            if isinstance(v, dict) and "value" in v:
                return f"{v['value']:.1f}" if isinstance(v["value"], float) else str(v["value"])
            if isinstance(v, dict) and "used" in v:
                return f"{v['used']} of {v['available']}"
            return str(v)

        res = self.get("resources", {})
        for key, label in [("kernel", "kernel"), ("target", "target")]:
            rows.append((label, self.get(key, "")))
        for key in ("logic_cells", "block_rams", "ios"):
            if key in res:
                rows.append((key.replace("_", " "), value(res[key])))
        for key, label in [("fmax_nextpnr_mhz", "Fmax nextpnr (MHz)"), ("fmax_icetime_mhz", "Fmax icetime (MHz)"),
                           ("throughput_gbps", "throughput (Gbit/s)")]:
            if self.get(key) is not None:   # no icetime on ECP5
                rows.append((label, value(self[key])))
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(str(a))}</th><td>{html.escape(str(b))}</td></tr>"
                       for a, b in rows)
        return f"<table>{body}</table>"


class Kernel:
    """A kernel compiled by hissc (see the module's documentation)."""

    def __init__(self, source, filename, name, lanes, fn, path=None, offset=0):
        self.name, self.lanes, self._fn = name, lanes, fn
        # lines of imports put above a cell's code: hissc counts lines after them
        self._offset = offset
        self._dir = tempfile.mkdtemp(prefix="hiss-")
        if path is None:
            # a cell's source, named for the diagnostics (`cell3.py:8:5`)
            path = os.path.join(self._dir, filename)
            with open(path, "w") as f:
                f.write(source)
        self.path = os.path.abspath(path)
        self._shown = os.path.relpath(self.path, self._dir) if path.startswith(self._dir) else path
        vhd = os.path.join(self._dir, "kernel.vhd")
        _, self.warnings = _hissc([self._shown, "-o", vhd, *self._kflags()], CompileError, cwd=self._cwd())
        with open(vhd) as f:
            self.vhdl = f.read()
        text, _ = _hissc([self.path, "--emit", "spn", *self._kflags()])
        dot, _ = _hissc([self.path, "--emit", "dot", *self._kflags()])
        self.network = Network(text, dot)

    def _cwd(self):
        return self._dir if self.path.startswith(self._dir) else None

    def _kflags(self):
        flags = ["--lanes", self.lanes]
        if self._offset:
            flags += ["--line-offset", self._offset]
        if self.name:
            flags += ["--kernel", self.name]
        return flags

    def _signature(self):
        fn = self._fn
        if fn is None:
            import importlib.util
            spec = importlib.util.spec_from_file_location("hiss_kernel_" + str(id(self)), self.path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            ks = [v for v in vars(mod).values() if hasattr(v, "__hiss_kernel__")]
            fn = next((k for k in ks if k.__hiss_kernel__.__name__ == self.name), ks[0] if ks else None)
            self._fn = fn
        return getattr(fn, "__hiss_kernel__", fn).__annotations__

    def _args(self, work, values):
        """hissc's flags for keyword arguments: arrays (--in), states (--state), scalars (--param)."""
        from . import ArrayType, StateType, scalar_param
        ann = self._signature()
        argv, states = [], {}
        for name, v in values.items():
            if name not in ann:
                raise TypeError(f"kernel `{self.name}` has no parameter `{name}`")
            if isinstance(ann[name], StateType):
                p = os.path.join(work, f"state_in_{name}.npy")
                np.save(p, np.asarray(v))
                argv += ["--state", f"{name}={p}"]
                states[name] = v
            elif isinstance(ann[name], ArrayType) or (isinstance(v, np.ndarray) and v.ndim > 0):
                if not isinstance(v, np.ndarray):
                    # a list of numbers: an array of the input's dtype
                    v = np.array(v, dtype=ann[name].dtype)
                p = os.path.join(work, f"in_{name}.npy")
                np.save(p, v)
                argv += ["--in", f"{name}={p}"]
            else:
                argv += ["--param", f"{name}={int(scalar_param(name, v, ann[name]))}"]
        return argv, states

    def _outputs(self, out, states):
        # hissc names its outputs out.npy, or out0.npy, out1.npy, ... for a tuple
        def index(f):
            middle = f[3:-4]
            ok = f.startswith("out") and f.endswith(".npy") and (middle == "" or middle.isdigit())
            return int(middle or 0) if ok else None
        files = sorted((f for f in os.listdir(out) if index(f) is not None), key=index)
        got = []
        for f in files:
            a = np.load(os.path.join(out, f))
            off = os.path.join(out, f[:-4] + "_offsets.npy")
            got.append((a, np.load(off)) if os.path.exists(off) else a)
        # states are updated in place, as numpy's call does
        for name, v in states.items():
            final = np.load(os.path.join(out, f"state_{name}.npy"))
            if isinstance(v, np.ndarray):
                v[...] = final
        return got[0] if len(got) == 1 else tuple(got)

    def _stage(self, stage, values, extra=(), progress=None):
        work = tempfile.mkdtemp(dir=self._dir)
        argv, states = self._args(work, values)
        out = os.path.join(work, "out")
        text, _ = _hissc([stage, self.path, *self._kflags(), *argv, "--out", out, *extra], progress=progress)
        return self._outputs(out, states), states, text

    def run(self, **values):
        """The reference interpreter (`hissc run`): the outputs, as numpy computes them."""
        return self._stage("run", values)[0]

    def sim(self, vcd=None, **values):
        """The cycle-accurate simulation (`hissc sim`): outputs, cycles, elements per
        cycle; with `vcd`, the waveforms (every port and bus, named after the
        kernel's variables) as a VCD file for GTKWave."""
        extra = ["--json"] + (["--vcd", os.path.abspath(vcd)] if vcd else [])
        outputs, states, text = self._stage("sim", values, extra)
        return SimResult(outputs, states, json.loads(text))

    def verify(self, netlist=False, interface="native", stall_seed=1, **values):
        """GHDL against the simulator and the interpreter (`hissc verify`); raises on a
        difference. `interface="axis"` checks the AXI4-Stream wrapper under random
        back-pressure (seeded by `stall_seed`)."""
        extra = ["--netlist"] if netlist else []
        if interface != "native":
            extra += ["--interface", interface, "--stall-seed", str(stall_seed)]
        outputs, _, text = self._stage("verify", values, extra)
        return text.strip()

    def build(self, target="ice40-hx8k", line_rate=None, progress=True, **options):
        """An FPGA build (`hissc build`): its report, with a progress bar in Jupyter."""
        out = os.path.join(self._dir, f"build-{target}")
        args = ["build", self.path, *self._kflags(), "--target", target, "-o", out]
        if line_rate:
            args += ["--line-rate", line_rate]
        for k, v in options.items():
            args += [f"--{k.replace('_', '-')}", v]
        bar = _progress(f"build for {target}", target) if progress else None
        if bar:
            args += ["--progress", "json"]
        try:
            _hissc(args, progress=bar.event if bar else None)
        finally:
            if bar:
                bar.close()
        with open(os.path.join(out, "report.json")) as f:
            return BuildReport(json.load(f))

    def bundle(self, path, target="ice40-hx8k"):
        """A bundle for a HISS node (`hissc bundle`); gives its path."""
        _hissc(["bundle", self.path, *self._kflags(), "--target", target, "-o", path])
        return path


def targets():
    """The FPGAs hissc builds for (`hissc targets --json`): each one's family,
    part, package, logic cells, block RAMs, DSPs, I/O pins, tools and the
    stages a build for it runs."""
    out, _ = _hissc(["targets", "--json"])
    return json.loads(out)


class _progress:
    """A progress bar over hissc build's stages (tqdm when installed, else
    lines), fed by `hissc build --progress json`; the stages of the target come
    from `hissc targets --json`."""

    def __init__(self, what, target="ice40-hx8k"):
        stages = next((t["stages"] for t in targets() if t["name"] == target), [])
        try:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=len(stages), desc=what)
        except ImportError:
            self.bar = None
        self.done = 0

    def event(self, e):
        """One stage event: the bar moves to the stage that starts."""
        if e.get("event") != "stage":
            return
        if self.bar is not None:
            if e["index"] + 1 < self.bar.n:
                # a line-rate search starts its next build (more lanes)
                self.bar.reset(total=e["stages"])
                self.bar.set_description(f"{e['kernel']} ({e['lanes']} lanes) for {e['target']}")
            self.bar.total = e["stages"]
            self.bar.update(e["index"] + 1 - self.bar.n)
            self.bar.set_postfix_str(e["detail"])
        else:
            print(f"{e['kernel']} ({e['lanes']} lanes) for {e['target']}: {e['detail']}", flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.update(self.bar.total - self.bar.n)
            self.bar.close()


def compile(kernel, lanes=1, name=None):
    """Compiles a `@kernel` function (its cell or module is the source) or a
    kernel file; raises :class:`CompileError` with hissc's diagnostic."""
    if callable(kernel):
        source, filename, offset = _source_of(kernel)
        name = name or getattr(kernel, "__hiss_kernel__", kernel).__name__
        return Kernel(source, filename, name, lanes, kernel, offset=offset)
    kernel = str(kernel)
    return Kernel(None, os.path.basename(kernel), name, lanes, None, path=kernel)
