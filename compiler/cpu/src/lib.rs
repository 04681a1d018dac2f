//! The CPU slot: a kernel's array-op IR run as native loops, bit-exact with
//! the reference interpreter ([`hissc_aop::interp`]).
//!
//! The route is typed blocked evaluation, in the style of numexpr: a
//! [`plan`](plan) groups the kernel's elementwise instructions by shape into
//! loops; each loop runs over its shape a chunk of [`CHUNK`](exec::CHUNK)
//! elements at a time, every intermediate in a scratch slot that stays in the
//! first-level cache, with reductions, bin counts and `a[mask]` folded in as
//! the chunks pass. Inputs are read in place from their `.npy` bytes, and
//! slices, broadcasts and reshapes are strided views, never copies. Every
//! value is held as `i64` lanes ([`ops`]): every numpy dtype the language has
//! fits, each operation wraps to its dtype as numpy does, and the loops are
//! plain integer arithmetic the compiler vectorises (no exact-integer cells).
//! Why not Cranelift: these loops are few and fixed (one per operation and
//! dtype), so compiling them ahead of time with the Rust compiler gives
//! vectorised code with no code generator to trust, and no compile step per
//! kernel; the plan's fusion is where the speed comes from.

mod exec;
mod ops;
mod plan;
mod view;

pub use exec::Column;
pub use ops::{encode, from_lane};

use cranelift_entity::EntityRef;
use exec::{compile_loop, Frame, Loop};
use hissc_aop::types::numel;
use hissc_aop::Value;
use hissc_aop::{Array, DType, Inst, Kernel};
use plan::{Node, Plan, Step};
use view::Base;

/// A kernel compiled for the CPU.
#[derive(Debug)]
pub struct Program {
    kernel: Kernel,
    plan: Plan,
    loops: Vec<Loop>,
}

/// One output of a frame, as a `.npy` body holds it: little-endian elements
/// of its dtype in C order (encoded once, where the loops leave it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// numpy's dtype.
    pub dtype: DType,
    /// Its shape (a `Vec` output: as many as it holds).
    pub shape: Vec<u32>,
    /// Its elements' bytes.
    pub bytes: Vec<u8>,
}

impl Output {
    /// An output of `dtype` and `shape` holding `lanes`.
    pub fn new(dtype: DType, shape: Vec<u32>, lanes: &[i64]) -> Output {
        let mut bytes = Vec::with_capacity(lanes.len() * dtype.bytes());
        encode(dtype, lanes, &mut bytes);
        Output {
            dtype,
            shape,
            bytes,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.bytes.len() / self.dtype.bytes()
    }

    /// Has it no elements?
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Element `i` as an exact integer.
    pub fn get(&self, i: usize) -> i128 {
        let mut x = [0i64];
        ops::decode(self.dtype, &self.bytes, i, 1, &mut x);
        from_lane(self.dtype, x[0])
    }

    /// As the reference interpreter gives it.
    pub fn to_array(&self) -> Array {
        let mut lanes = vec![0i64; self.len()];
        ops::decode(self.dtype, &self.bytes, 0, 1, &mut lanes);
        let data = lanes.iter().map(|&x| from_lane(self.dtype, x)).collect();
        Array::new(self.dtype, self.shape.clone(), data)
    }
}

impl Program {
    /// Plans `kernel` (a verified kernel).
    pub fn new(kernel: &Kernel) -> Program {
        let plan = plan::plan(kernel);
        let loops = plan
            .groups
            .iter()
            .map(|g| compile_loop(kernel, &plan, g))
            .collect();
        Program {
            kernel: kernel.clone(),
            plan,
            loops,
        }
    }

    /// The kernel it runs.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// A run from the given states (each state's elements as exact integers,
    /// C order; zeros when `None`).
    pub fn start(&self, states: Option<&[Vec<i128>]>) -> Run<'_> {
        let states = match states {
            Some(s) => s
                .iter()
                .map(|s| s.iter().map(|&x| x as i64).collect())
                .collect(),
            None => self
                .kernel
                .states
                .iter()
                .map(|s| vec![0; s.ty.numel()])
                .collect(),
        };
        let mut vals = vec![Vec::new(); self.kernel.insts.len()];
        for (i, n) in self.plan.nodes.iter().enumerate() {
            if let Node::Const(c) = n {
                vals[i] = c.clone();
            }
        }
        Run {
            program: self,
            states,
            vals,
        }
    }
}

/// Frames through a [`Program`], the states carried from one to the next.
pub struct Run<'p> {
    program: &'p Program,
    states: Vec<Vec<i64>>,
    /// Every written value's lanes, kept from frame to frame (their capacity).
    vals: Vec<Vec<i64>>,
}

impl<'p> Run<'p> {
    /// The program it runs.
    pub fn program(&self) -> &'p Program {
        self.program
    }

    /// The states as the frames so far left them, as exact integers.
    pub fn states(&self) -> Vec<Array> {
        self.program
            .kernel
            .states
            .iter()
            .zip(&self.states)
            .map(|(s, l)| {
                let data = l.iter().map(|&x| from_lane(s.ty.dtype, x)).collect();
                Array::new(s.ty.dtype, s.ty.shape.clone(), data)
            })
            .collect()
    }

    /// Runs every frame of a batch bound to the kernel's parameters (in
    /// signature order), giving each frame's outputs as the reference
    /// interpreter gives them.
    pub fn batch(&mut self, b: &hissc_aop::Bound) -> Vec<Vec<Array>> {
        (0..b.frames)
            .map(|f| {
                let outputs = self.frame_exact(&b.frame_data(f));
                outputs.iter().map(Output::to_array).collect()
            })
            .collect()
    }

    /// Runs one frame given as the reference interpreter takes it: each
    /// parameter's elements as exact integers, in signature order (a scalar's
    /// one value).
    fn frame_exact(&mut self, args: &[&[i128]]) -> Vec<Output> {
        let lanes: Vec<Vec<i64>> = args
            .iter()
            .map(|a| a.iter().map(|&x| x as i64).collect())
            .collect();
        let cols = self
            .program
            .kernel
            .params
            .iter()
            .zip(&lanes)
            .map(|(p, l)| match p.is_stream() {
                true => Column::Lanes(l),
                false => Column::Scalar(l[0]),
            })
            .collect();
        self.frame(cols)
    }

    /// Runs one frame: `inputs` holds one column per parameter, in signature
    /// order (a stream's elements, a scalar's value), each within its promise.
    pub fn frame(&mut self, inputs: Vec<Column<'_>>) -> Vec<Output> {
        let p = self.program;
        let k = &p.kernel;
        let vals = std::mem::take(&mut self.vals);
        let mut f = Frame::new(vals, inputs, &self.states);
        for step in &p.plan.steps {
            match *step {
                Step::Group(g) => f.run_loop(k, &p.loops[g]),
                Step::Eval(v) => {
                    let out = step_eval(&f, k, &p.plan, v);
                    f.vals[v.index()] = out;
                }
                Step::Copy(v) => {
                    let Node::View(view) = &p.plan.nodes[v.index()] else {
                        unreachable!("only views are copied")
                    };
                    let out = f.read(k, view).into_owned();
                    f.vals[v.index()] = out;
                }
            }
        }
        let outputs = k
            .outputs
            .iter()
            .map(|&o| {
                match k.insts[o].inst {
                    // as many elements as it kept
                    Inst::Compress(..) => {
                        let lanes = &f.vals[o.index()];
                        Output::new(k.dtype(o), vec![lanes.len() as u32], lanes)
                    }
                    _ => Output::new(
                        k.dtype(o),
                        k.ty(o).shape.clone(),
                        &f.read(k, &p.plan.view(k, o)),
                    ),
                }
            })
            .collect();
        // a state updated to a value's own lanes, whole, takes them (its old
        // lanes become that value's buffer for the next frame): no copy
        let mut taken: Vec<Option<Value>> = vec![None; k.updates.len()];
        let next: Vec<Option<Vec<i64>>> = k
            .updates
            .iter()
            .enumerate()
            .map(|(i, &u)| {
                let view = p.plan.view(k, u);
                match view.base {
                    // (constants' lanes are made once, not every frame)
                    Base::Lanes(v)
                        if !matches!(p.plan.nodes[v.index()], Node::Const(_))
                            && view.offset == 0
                            && view.contiguous()
                            && f.vals[v.index()].len() == k.ty(u).numel()
                            && !taken.contains(&Some(v)) =>
                    {
                        taken[i] = Some(v);
                        None
                    }
                    _ => Some(f.read(k, &view).into_owned()),
                }
            })
            .collect();
        let mut vals = f.vals;
        for ((s, n), t) in self.states.iter_mut().zip(next).zip(taken) {
            match (n, t) {
                (Some(n), _) => *s = n,
                (None, Some(v)) => std::mem::swap(s, &mut vals[v.index()]),
                (None, None) => unreachable!("each update is read or taken"),
            }
        }
        self.vals = vals;
        outputs
    }
}

/// A value computed whole from its operands' whole arrays.
fn step_eval(f: &Frame, k: &Kernel, plan: &Plan, v: hissc_aop::Value) -> Vec<i64> {
    let d = &k.insts[v];
    let n = d.ty.numel();
    // every operand, whole
    let args: Vec<_> = d
        .inst
        .args()
        .into_iter()
        .map(|a| f.read(k, &plan.view(k, a)))
        .collect();
    let x: Vec<&[i64]> = args.iter().map(|a| &a[..]).collect();
    match &d.inst {
        Inst::Input(i) => match f.inputs[*i as usize] {
            Column::Scalar(x) => vec![x],
            c => unreachable!("a scalar parameter given as {c:?}"),
        },
        inst if inst.is_elementwise() || matches!(inst, Inst::Iota) => {
            let mut out = vec![0; n];
            exec::eval(k, v, &x, &mut out, 0);
            out
        }
        // a reduction, bin count or `a[mask]` of a 0-d operand: one fold
        inst if plan::is_sink(inst) => {
            let mut acc = Vec::new();
            let mut sums = exec::sink_start(k, v, &mut acc);
            exec::fold(k, v, &x, &mut acc, &mut sums, 0, false);
            exec::sink_finish(&mut acc, sums);
            acc
        }
        Inst::Gather(..) => x[1].iter().map(|&i| x[0][i as usize]).collect(),
        Inst::Reshape(_) => x[0].to_vec(),
        Inst::Reduce(op, a, axes) => {
            // argmax and argmin (the other reductions are sinks)
            let from = &k.ty(*a).shape;
            let ad = k.dtype(*a);
            let mut best: Vec<Option<(i128, i64)>> = vec![None; n.max(1)];
            for (i, &e) in x[0].iter().enumerate() {
                let r = hissc_aop::interp::reduced_index(i, from, axes);
                let pos = match axes.first() {
                    Some(&ax) => hissc_aop::array::unravel(i, from)[ax as usize] as i64,
                    None => i as i64,
                };
                let e = from_lane(ad, e);
                if best[r].is_none_or(|(b, _)| hissc_aop::semantics::arg_better(*op, e, b)) {
                    best[r] = Some((e, pos));
                }
            }
            best.into_iter().map(|b| b.map_or(0, |(_, p)| p)).collect()
        }
        Inst::Scan(_) => {
            let mut acc = 0i64;
            let running = x[0].iter().map(|&e| {
                acc = ops::wrap(d.ty.dtype, acc.wrapping_add(e));
                acc
            });
            running.collect()
        }
        Inst::Concat(vs, axis) => {
            let outer = numel(&d.ty.shape[..*axis as usize]);
            let blocks: Vec<usize> = vs
                .iter()
                .map(|a| numel(&k.ty(*a).shape[*axis as usize..]))
                .collect();
            let mut out = Vec::with_capacity(n);
            for o in 0..outer {
                for (p, b) in x.iter().zip(&blocks) {
                    out.extend_from_slice(&p[o * b..(o + 1) * b]);
                }
            }
            out
        }
        inst => unreachable!("{inst:?} is never a step"),
    }
}
