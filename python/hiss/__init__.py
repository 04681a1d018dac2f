"""The kernel-side package of hissc.

A HISS kernel is an ordinary Python function over numpy arrays::

    import numpy as np
    from hiss import kernel, Array, u12

    @kernel
    def hot_pixels(frame: Array[u12, 64, 64], t: np.uint16) -> np.int64:
        return np.count_nonzero(frame > t)

The toolchain is here too (``hiss.compile(fn).run(...)``, ``.sim``, ``.verify``,
``.build``, ``.bundle``; ``hiss.Node`` to deploy): see ``hiss.toolchain`` and
``hiss.node``. This package gives the names such a file imports, so that it runs unchanged in
CPython with numpy (and in Jupyter) with exactly the meaning hissc compiles:

- ``kernel`` marks a function as a kernel. Called from Python, it checks its
  array inputs (dtype, shape, range promises) as ``hissc run`` does, and runs a
  batch of frames (one extra leading axis) frame by frame, stacking the outputs.
- ``Array[T, d0, ...]`` is the type of a frame of static shape.
- ``State[T, d0, ...]`` (``State[T]`` for a 0-d state) is a parameter the kernel
  keeps from one frame to the next, updated by one ``NAME[...] = EXPR``. The
  caller owns the array and passes it to every call (it is updated in place, as
  numpy does); left out, a batch call starts it at zeros and carries it from
  frame to frame.
- ``Vec[T, N]`` (in a return annotation) is a 1-D output of at most N elements
  (``np.flatnonzero(mask)``, ``a[mask]``). A batch call returns such an output
  as ``(values, offsets)``: every frame's elements concatenated, and int64
  offsets with frame ``f`` at ``values[offsets[f]:offsets[f + 1]]``, as
  ``hissc run`` writes ``outK.npy`` and ``outK_offsets.npy``.
- ``u1`` ... ``u63`` and ``i2`` ... ``i63`` are range types: numpy's container
  dtype of the next standard width, with a promise that values fit
  (``u12`` is ``uint16`` holding 0..4095).
"""

import functools
import inspect

import numpy as np

__all__ = ["kernel", "Array", "ArrayType", "RangeType", "State", "StateType", "Vec", "VecType",
           "compile", "Kernel", "CompileError", "HisscError", "ToolchainMissing", "Node", "LocalNode"]

_TOOLCHAIN = {"compile", "Kernel", "CompileError", "HisscError", "ToolchainMissing", "hissc_path",
              "SimResult", "BuildReport", "Network", "targets"}


def __getattr__(name):
    """The toolchain (``hiss.compile``) and the node (``hiss.Node``, ``hiss.LocalNode``), loaded
    when first used: the kernel types need neither hissc nor boto3."""
    if name in _TOOLCHAIN:
        from . import toolchain
        return getattr(toolchain, name)
    if name in ("Node", "LocalNode"):
        from . import node
        return getattr(node, name)
    raise AttributeError(f"module 'hiss' has no attribute {name!r}")
__version__ = "0.1.0"


class RangeType:
    """A numpy container dtype with a promise about the values' range."""

    def __init__(self, name, dtype, lo, hi):
        self.name, self.dtype, self.lo, self.hi = name, np.dtype(dtype), lo, hi

    def __repr__(self):
        return f"hiss.{self.name}"


class ArrayType:
    """``Array[T, d0, ...]``: an element type and a static shape."""

    def __init__(self, elem, shape):
        self.elem, self.shape = elem, tuple(int(d) for d in shape)

    @property
    def dtype(self):
        return self.elem.dtype if isinstance(self.elem, RangeType) else np.dtype(self.elem)

    def __repr__(self):
        dims = ", ".join(str(d) for d in self.shape)
        return f"Array[{self.elem!r}, {dims}]"


class Array:
    """Subscript it: ``Array[np.uint16, 32, 32]``."""

    def __class_getitem__(cls, item):
        if not isinstance(item, tuple) or len(item) < 2:
            raise TypeError("write Array[T, d0, ...] with one to three dimensions")
        elem, *shape = item
        return ArrayType(elem, shape)


class StateType(ArrayType):
    """``State[T, d0, ...]``: state kept across frames, of an element type and a static shape."""

    def __repr__(self):
        dims = "".join(f", {d}" for d in self.shape)
        return f"State[{self.elem!r}{dims}]"


class State:
    """Subscript it: ``State[np.uint32, 32, 32]``, or ``State[np.uint64]`` for one value."""

    def __class_getitem__(cls, item):
        elem, *shape = item if isinstance(item, tuple) else (item,)
        if len(shape) > 3:
            raise TypeError("write State[T] or State[T, d0, ...] with up to three dimensions")
        return StateType(elem, shape)


class VecType:
    """``Vec[T, N]``: a 1-D output of at most N elements, its length known at run time."""

    def __init__(self, elem, cap):
        self.elem, self.cap = elem, int(cap)

    def __repr__(self):
        return f"Vec[{self.elem!r}, {self.cap}]"


class Vec:
    """Subscript it: ``Vec[np.int64, 1024]``."""

    def __class_getitem__(cls, item):
        if not isinstance(item, tuple) or len(item) != 2:
            raise TypeError("write Vec[T, N]")
        return VecType(*item)


def _range_types():
    types = {}
    for bits in range(1, 64):
        container = next(w for w in (8, 16, 32, 64) if w >= bits)
        types[f"u{bits}"] = RangeType(f"u{bits}", f"uint{container}", 0, 2**bits - 1)
        if bits >= 2:
            types[f"i{bits}"] = RangeType(
                f"i{bits}", f"int{container}", -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
            )
    return types


globals().update(_range_types())
__all__ += sorted(_range_types())


def _check(name, value, ann):
    """Checks one array input as hissc does; returns True if it is a batch."""
    if isinstance(ann, StateType):
        if not isinstance(value, np.ndarray) or value.dtype != ann.dtype or value.shape != ann.shape:
            raise TypeError(
                f"state `{name}` must be a numpy array of dtype {ann.dtype} and shape {ann.shape}"
                " (the kernel updates it in place)"
            )
        return False
    if not isinstance(ann, ArrayType):
        return False
    value = np.asarray(value)
    if value.dtype != ann.dtype:
        raise TypeError(f"input `{name}` has dtype {value.dtype}, the kernel expects {ann.dtype}")
    batch = value.ndim == len(ann.shape) + 1 and value.shape[1:] == ann.shape
    if value.shape != ann.shape and not batch:
        raise ValueError(f"input `{name}` has shape {value.shape}, the kernel expects {ann.shape}")
    if isinstance(ann.elem, RangeType) and value.size:
        lo, hi = value.min(), value.max()
        if lo < ann.elem.lo or hi > ann.elem.hi:
            raise ValueError(
                f"input `{name}` breaks its range promise {ann.elem!r} = [{ann.elem.lo}, {ann.elem.hi}]"
            )
    return batch


def _integer(name, value, dtype=None):
    """`value` as a Python int, or TypeError naming the parameter: kernel
    parameters are integers (a float or a string is not silently truncated)."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_, int, np.integer)):
        return int(value)
    what = f"an integer of dtype {dtype}" if dtype is not None else "an integer"
    raise TypeError(f"parameter `{name}` takes {what}, not {type(value).__name__} {value!r}")


def scalar_param(name, value, ann):
    """A scalar parameter as the kernel sees it: a numpy scalar of its annotated
    dtype. A Python int that does not fit raises OverflowError (numpy's rule), a
    numpy integer of another dtype converts as ``astype`` does, a range type's
    promise is checked, and anything but an integer is a TypeError."""
    dt = ann.dtype if isinstance(ann, RangeType) else np.dtype(ann)
    as_int = _integer(name, value, dt)
    if isinstance(value, (np.integer, np.bool_, np.ndarray)):
        v = np.asarray(value).astype(dt)[()]
    else:
        try:
            v = dt.type(as_int)
        except OverflowError as e:
            raise OverflowError(f"parameter `{name}`: {e}") from None
    if isinstance(ann, RangeType) and not ann.lo <= int(v) <= ann.hi:
        raise ValueError(f"parameter `{name}` = {int(v)} breaks its range promise {ann!r} = [{ann.lo}, {ann.hi}]")
    return v


def _describe(a):
    a = np.asarray(a)
    return f"{a.dtype} of shape {a.shape}" if a.shape else f"a {a.dtype} scalar"


def _check_result(fn, result, ret):
    """Each output against the return annotation (dtype and shape), as hissc
    checks it at compile time: CPython must not return something else."""
    if ret is None:
        return
    parts = getattr(ret, "__args__", None) or (ret,)
    outs = result if isinstance(result, tuple) else (result,)
    if len(outs) != len(parts):
        raise TypeError(f"kernel `{fn.__name__}` returns {len(outs)} values; its annotation says {len(parts)}")
    for i, (o, a) in enumerate(zip(outs, parts)):
        o = np.asarray(o)
        if isinstance(a, VecType):
            ok = o.ndim == 1 and o.dtype == np.dtype(a.elem) and len(o) <= a.cap
        elif isinstance(a, ArrayType):
            ok = o.dtype == a.dtype and o.shape == a.shape
        else:
            try:
                dt = a.dtype if isinstance(a, RangeType) else np.dtype(a)
            except TypeError:
                continue
            ok = o.shape == () and o.dtype == dt
        if not ok:
            which = f"output {i}" if len(parts) > 1 else "the result"
            raise TypeError(f"kernel `{fn.__name__}`: {which} is {_describe(o)}, its annotation says {a!r}")


def kernel(fn=None, **options):
    """Marks a kernel. Called from Python it checks inputs and runs batches frame by frame."""
    if fn is None:
        return lambda f: kernel(f, **options)
    sig = inspect.signature(fn)
    ann = fn.__annotations__
    states = {n: a for n, a in ann.items() if isinstance(a, StateType)}
    ret = ann.get("return")
    parts = getattr(ret, "__args__", None) or (ret,)
    vec = [isinstance(p, VecType) for p in parts]

    def stacked(i, outs):
        if i < len(vec) and vec[i]:
            vals = [np.asarray(o) for o in outs]
            offsets = np.concatenate([[0], np.cumsum([len(v) for v in vals])]).astype(np.int64)
            return np.concatenate(vals), offsets
        return np.stack([np.asarray(o) for o in outs])

    @functools.wraps(fn)
    def run(*args, **kwargs):
        bound = sig.bind_partial(*args, **kwargs)
        for n, a in states.items():
            if n not in bound.arguments:  # a state left out starts at zeros
                bound.arguments[n] = np.zeros(a.shape, a.dtype)
        bound = sig.bind(**bound.arguments)
        for n, v in list(bound.arguments.items()):
            a = ann.get(n)
            if isinstance(a, ArrayType) and not isinstance(a, StateType) and not isinstance(v, np.ndarray):
                # a list (or another sequence) of numbers: an array of the input's dtype
                bound.arguments[n] = np.array(v, dtype=a.dtype)
            elif a is not None and not isinstance(a, (ArrayType, VecType)):
                # scalars take their annotated dtype, as in hissc
                bound.arguments[n] = scalar_param(n, v, a)
        batched = [
            n for n, v in bound.arguments.items()
            if _check(n, v, ann.get(n))
        ]
        if not batched:
            r = fn(**bound.arguments)
            _check_result(fn, r, ret)
            return r
        frames = len(bound.arguments[batched[0]])
        results = []
        for f in range(frames):  # in order: each frame sees the state the last one left
            args = {n: (v[f] if n in batched else v) for n, v in bound.arguments.items()}
            r = fn(**args)
            _check_result(fn, r, ret)
            results.append(r)
        if not results:
            # an empty batch: every output with no frames
            return _empty_outputs(parts, vec)
        if isinstance(results[0], tuple):
            return tuple(stacked(i, [r[i] for r in results]) for i in range(len(results[0])))
        return stacked(0, results)

    run.__hiss_kernel__ = fn
    return run


def _empty_outputs(parts, vec):
    """The outputs of a batch of no frames: `[0, ...]` arrays, and for a Vec
    empty values with the offsets `[0]`."""
    outs = []
    for p, v in zip(parts, vec):
        if v:
            outs.append((np.zeros(0, np.dtype(p.elem)), np.zeros(1, np.int64)))
        elif isinstance(p, ArrayType):
            outs.append(np.zeros((0, *p.shape), p.dtype))
        else:
            dt = p.dtype if isinstance(p, RangeType) else np.dtype(p)
            outs.append(np.zeros(0, dt))
    return tuple(outs) if len(outs) > 1 else outs[0]
