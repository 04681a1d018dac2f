//! Running a planned kernel: each group's loop as a chunk program over
//! scratch slots, each step over whole arrays.

use crate::ops;
use crate::plan::{Group, Node, Plan};
use crate::view::{c_strides, Base, View};
use cranelift_entity::EntityRef;
use hissc_aop::types::numel;
use hissc_aop::{Inst, Kernel, Value};
use std::borrow::Cow;
use std::collections::HashMap;

/// Elements per chunk: a loop's scratch slots (8 KiB each) stay in cache.
pub(crate) const CHUNK: usize = 1024;

/// Where an operand of a loop's instruction is read.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Src {
    /// A scratch slot.
    Slot(usize),
    /// A leaf read in place: back-to-back lanes.
    Direct(usize),
    /// A stored member read where it was computed: the chunk's elements of
    /// [`Loop::writes`] number `.0`.
    Written(usize),
}

/// One instruction of a loop's chunk program.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    /// Reads a leaf's chunk into a slot.
    Load { leaf: usize, slot: usize },
    /// Computes a member's chunk.
    Eval {
        v: Value,
        slot: usize,
        args: Vec<Src>,
    },
    /// `table[index]` for a chunk of indices: the table's lanes from an offset.
    Gather {
        slot: usize,
        index: Src,
        table: Value,
        offset: usize,
    },
    /// Computes a stored member's chunk straight into the lanes of
    /// [`Loop::writes`] number `write` (no slot, no copy).
    EvalTo {
        v: Value,
        write: usize,
        args: Vec<Src>,
    },
    /// Writes a member's chunk to the lanes of [`Loop::writes`] number `write`.
    Store { write: usize, src: Src },
    /// Folds a chunk into sink number `sink`.
    Fold { sink: usize, args: Vec<Src> },
}

/// A sink's place in a loop.
#[derive(Clone, Debug)]
struct SinkAt {
    v: Value,
    /// Its lanes: [`Loop::writes`] number `write`.
    write: usize,
    /// Per axis of the loop, the stride of its result (0 for an axis reduced).
    out: Vec<isize>,
    /// The innermost axis is kept: a chunk folds element by element.
    inner: bool,
}

/// A group compiled to a chunk program.
#[derive(Clone, Debug)]
pub(crate) struct Loop {
    /// The shape iterated (rows of its last axis): the group's shape, or its
    /// size when it runs flat.
    shape: Vec<u32>,
    ops: Vec<Op>,
    /// The views it reads, in the loop's own index space.
    leaves: Vec<View>,
    /// Slots holding a 0-d value for the whole loop, and where it is read.
    splats: Vec<(usize, View)>,
    sinks: Vec<SinkAt>,
    /// Lanes written by the loop (stored members and sinks).
    writes: Vec<Value>,
    slots: usize,
}

/// The frame's storage: every written value's lanes, the inputs, the states.
pub(crate) struct Frame<'a> {
    pub vals: Vec<Vec<i64>>,
    /// Per parameter: its elements (streams) as given.
    pub inputs: Vec<Column<'a>>,
    pub states: &'a [Vec<i64>],
}

/// An input's elements.
#[derive(Clone, Copy, Debug)]
pub enum Column<'a> {
    /// Little-endian elements of the parameter's dtype (a `.npy` body).
    Bytes(&'a [u8]),
    /// Lanes.
    Lanes(&'a [i64]),
    /// A scalar parameter's value.
    Scalar(i64),
}

/// A value a loop's chunk program holds in a slot while it is live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Reg {
    /// A member (a reshaped member is its source's register).
    Member(Value),
    /// A leaf's chunk.
    Leaf(usize),
    /// A 0-d value, held for the whole loop.
    Splat(Value),
}

/// An instruction of a chunk program before slots are given out.
enum Pending {
    Load(usize),
    Eval(Value),
    Store(usize),
    Fold(usize),
}

/// Builds a group's chunk program over registers.
struct Builder<'p> {
    k: &'p Kernel,
    plan: &'p Plan,
    g: &'p Group,
    shape: Vec<u32>,
    leaves: Vec<(Value, View)>,
    splats: Vec<Value>,
    /// Each instruction, the registers it reads and the one it defines.
    lines: Vec<(Pending, Vec<Reg>, Option<Reg>)>,
    sinks: Vec<SinkAt>,
    writes: Vec<Value>,
}

impl Builder<'_> {
    /// The register of operand `a`; a leaf is loaded before its first use.
    fn operand(&mut self, a: Value) -> Reg {
        let member =
            self.g.items.contains(&a) && !matches!(self.plan.nodes[a.index()], Node::Sink(_));
        if member {
            return Reg::Member(self.plan.alias[a.index()].unwrap_or(a));
        }
        if self.k.ty(a).shape.is_empty() {
            if !self.splats.contains(&a) {
                self.splats.push(a);
            }
            return Reg::Splat(a);
        }
        if let Some(i) = self.leaves.iter().position(|(v, _)| *v == a) {
            return Reg::Leaf(i);
        }
        let mut view = self.plan.view(self.k, a);
        if self.g.flat {
            view = View {
                strides: vec![1],
                shape: self.shape.clone(),
                ..view
            };
        }
        self.leaves.push((a, view));
        let i = self.leaves.len() - 1;
        self.lines
            .push((Pending::Load(i), vec![], Some(Reg::Leaf(i))));
        Reg::Leaf(i)
    }

    fn store(&mut self, v: Value, reg: Reg) {
        self.writes.push(v);
        let w = self.writes.len() - 1;
        self.lines.push((Pending::Store(w), vec![reg], None));
    }

    fn item(&mut self, v: Value) {
        let d = &self.k.insts[v];
        if let Some(a) = self.plan.alias[v.index()] {
            if self.plan.stored[v.index()] {
                self.store(v, Reg::Member(a));
            }
            return;
        }
        let args = match &d.inst {
            Inst::Gather(_, i) => vec![*i],
            inst => inst.args(),
        };
        let reads: Vec<Reg> = args.iter().map(|&a| self.operand(a)).collect();
        if let Node::Sink(_) = self.plan.nodes[v.index()] {
            let of = &self.k.ty(args[0]).shape;
            let out = match &d.inst {
                Inst::Reduce(_, _, axes) if !axes.is_empty() && !self.g.flat => {
                    let kept: Vec<usize> = (0..of.len())
                        .filter(|d| !axes.contains(&(*d as u32)))
                        .collect();
                    let ks = c_strides(&kept.iter().map(|&d| of[d]).collect::<Vec<_>>());
                    (0..of.len())
                        .map(|d| kept.iter().position(|&x| x == d).map_or(0, |i| ks[i]))
                        .collect()
                }
                _ => vec![0; self.shape.len()],
            };
            self.writes.push(v);
            self.sinks.push(SinkAt {
                v,
                write: self.writes.len() - 1,
                inner: out.last().is_some_and(|&s| s != 0),
                out,
            });
            let s = self.sinks.len() - 1;
            self.lines.push((Pending::Fold(s), reads, None));
        } else {
            self.lines
                .push((Pending::Eval(v), reads, Some(Reg::Member(v))));
            if self.plan.stored[v.index()] {
                self.store(v, Reg::Member(v));
            }
        }
    }

    /// Gives out slots: a splat holds its own for the whole loop, every other
    /// register one from its definition to its last read.
    fn finish(self) -> Loop {
        let (k, plan) = (self.k, self.plan);
        let mut last = HashMap::new();
        for (i, (_, reads, _)) in self.lines.iter().enumerate() {
            for r in reads {
                last.insert(*r, i);
            }
        }
        let mut at: HashMap<Reg, Src> = HashMap::new();
        let splats: Vec<(usize, View)> = self
            .splats
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                at.insert(Reg::Splat(s), Src::Slot(i));
                (i, plan.view(k, s))
            })
            .collect();
        // a member stored right after it is computed is computed where it is
        // stored, and read from there
        let mut eval_to: HashMap<usize, usize> = HashMap::new();
        for (i, pair) in self.lines.windows(2).enumerate() {
            if let ((Pending::Eval(v), _, _), (Pending::Store(w), reads, _)) = (&pair[0], &pair[1])
            {
                let gather = matches!(k.insts[*v].inst, Inst::Gather(..));
                if !gather && reads[..] == [Reg::Member(*v)] {
                    eval_to.insert(i, *w);
                }
            }
        }
        let mut slots = splats.len();
        let mut free: Vec<usize> = Vec::new();
        let mut ops = Vec::with_capacity(self.lines.len());
        for (i, (what, reads, def)) in self.lines.into_iter().enumerate() {
            if i > 0 && eval_to.contains_key(&(i - 1)) {
                // the store its member was computed into
                continue;
            }
            let args: Vec<Src> = reads.iter().map(|r| at[r]).collect();
            let mut take = || {
                free.pop().unwrap_or_else(|| {
                    slots += 1;
                    slots - 1
                })
            };
            let op = match what {
                Pending::Load(leaf) => {
                    let view = &self.leaves[leaf].1;
                    if matches!(view.base, Base::Lanes(_)) && view.inner() == 1 {
                        // back-to-back lanes: read in place
                        at.insert(Reg::Leaf(leaf), Src::Direct(leaf));
                        continue;
                    }
                    let slot = take();
                    at.insert(Reg::Leaf(leaf), Src::Slot(slot));
                    Op::Load { leaf, slot }
                }
                Pending::Eval(v) if eval_to.contains_key(&i) => {
                    let write = eval_to[&i];
                    at.insert(Reg::Member(v), Src::Written(write));
                    Op::EvalTo { v, write, args }
                }
                Pending::Eval(v) => {
                    let slot = take();
                    at.insert(Reg::Member(v), Src::Slot(slot));
                    match &k.insts[v].inst {
                        Inst::Gather(t, _) => {
                            let view = plan.view(k, *t);
                            let Base::Lanes(table) = view.base else {
                                unreachable!("a table is planned as lanes")
                            };
                            Op::Gather {
                                slot,
                                index: args[0],
                                table,
                                offset: view.offset as usize,
                            }
                        }
                        _ => Op::Eval { v, slot, args },
                    }
                }
                Pending::Store(write) => Op::Store {
                    write,
                    src: args[0],
                },
                Pending::Fold(sink) => Op::Fold { sink, args },
            };
            ops.push(op);
            // a register's slot is free after its last read (or at once, if never read)
            let unread = def.filter(|d| !last.contains_key(d));
            for r in reads.iter().chain(&unread) {
                if last.get(r).is_none_or(|&l| l == i) && !matches!(r, Reg::Splat(_)) {
                    if let Some(Src::Slot(s)) = at.get(r) {
                        if !free.contains(s) {
                            free.push(*s);
                        }
                    }
                }
            }
        }
        Loop {
            shape: self.shape,
            ops,
            leaves: self.leaves.into_iter().map(|(_, v)| v).collect(),
            splats,
            sinks: self.sinks,
            writes: self.writes,
            slots,
        }
    }
}

/// Compiles group `g` of `plan`.
pub(crate) fn compile_loop(k: &Kernel, plan: &Plan, g: &Group) -> Loop {
    let shape = if g.flat {
        vec![numel(&g.shapes[0]) as u32]
    } else {
        g.shapes[0].clone()
    };
    let mut b = Builder {
        k,
        plan,
        g,
        shape,
        leaves: Vec::new(),
        splats: Vec::new(),
        lines: Vec::new(),
        sinks: Vec::new(),
        writes: Vec::new(),
    };
    for &v in &g.items {
        b.item(v);
    }
    b.finish()
}

/// A sink's lanes before its first element (`acc`, resized); for a weighted
/// bin count, the exact sums it keeps until [`sink_finish`].
pub(crate) fn sink_start(k: &Kernel, v: Value, acc: &mut Vec<i64>) -> Option<Vec<i128>> {
    acc.clear();
    match &k.insts[v].inst {
        Inst::Reduce(op, a, _) => {
            acc.resize(k.ty(v).numel().max(1), ops::identity(*op, k.dtype(*a)));
            None
        }
        Inst::Bincount(_, w, _, bins) => {
            acc.resize(*bins as usize, 0);
            w.map(|_| vec![0; *bins as usize])
        }
        _ => None,
    }
}

/// A sink after its last element: a weighted bin count's exact sums as
/// float64, as the interpreter gives them.
pub(crate) fn sink_finish(acc: &mut [i64], sums: Option<Vec<i128>>) {
    for (o, x) in acc.iter_mut().zip(sums.into_iter().flatten()) {
        *o = (x as f64).to_bits() as i64;
    }
}

impl<'a> Frame<'a> {
    pub(crate) fn new(
        vals: Vec<Vec<i64>>,
        inputs: Vec<Column<'a>>,
        states: &'a [Vec<i64>],
    ) -> Self {
        Frame {
            vals,
            inputs,
            states,
        }
    }

    /// Reads `n` elements of `view` from base index `at`, `stride` apart.
    fn read_into(&self, k: &Kernel, view: &View, at: isize, stride: isize, o: &mut [i64]) {
        let lanes: &[i64] = match view.base {
            Base::Input(i) => match self.inputs[i] {
                Column::Bytes(b) => {
                    ops::decode(k.params[i].ty.dtype, b, at as usize, stride, o);
                    return;
                }
                Column::Lanes(l) => l,
                Column::Scalar(x) => {
                    o.fill(x);
                    return;
                }
            },
            Base::State(i) => &self.states[i],
            Base::Lanes(v) => &self.vals[v.index()],
        };
        if stride == 1 {
            o.copy_from_slice(&lanes[at as usize..at as usize + o.len()]);
        } else {
            let mut p = at;
            for x in o.iter_mut() {
                *x = lanes[p as usize];
                p += stride;
            }
        }
    }

    /// Every element of `view`, in C order (borrowed when back to back).
    pub(crate) fn read(&self, k: &Kernel, view: &View) -> Cow<'_, [i64]> {
        if let Base::Lanes(v) = view.base {
            if view.contiguous() {
                let at = view.offset as usize;
                return Cow::Borrowed(&self.vals[v.index()][at..at + view.numel()]);
            }
        }
        let mut out = vec![0i64; view.numel()];
        let mut filled = 0;
        let s = view.inner();
        view.rows(|off, n| {
            self.read_into(k, view, off, s, &mut out[filled..filled + n]);
            filled += n;
        });
        Cow::Owned(out)
    }

    /// Runs a loop.
    pub(crate) fn run_loop(&mut self, k: &Kernel, l: &Loop) {
        // the lanes this loop writes, out of `vals` while it runs
        let mut written: Vec<Vec<i64>> = l
            .writes
            .iter()
            .map(|v| std::mem::take(&mut self.vals[v.index()]))
            .collect();
        let total = numel(&l.shape);
        // a sink starts at its reduction's identity; a member's lanes are the loop's size
        let mut sums: Vec<Option<Vec<i128>>> = vec![None; l.writes.len()];
        for (w, lanes) in written.iter_mut().enumerate() {
            match l.sinks.iter().find(|s| s.write == w) {
                Some(s) => sums[w] = sink_start(k, s.v, lanes),
                // every element is stored by the loop
                None => lanes.resize(total, 0),
            }
        }
        let mut slots = vec![vec![0i64; CHUNK]; l.slots];
        for (s, view) in &l.splats {
            let x = self.read(k, view)[0];
            slots[*s].fill(x);
        }
        let r = l.shape.len();
        let row_len = l.shape[r - 1] as usize;
        let rows = total.checked_div(row_len).unwrap_or(0);
        let mut idx = vec![0u32; r - 1];
        let mut leaf_row: Vec<isize> = l.leaves.iter().map(|x| x.offset).collect();
        let mut sink_row = vec![0isize; l.sinks.len()];
        for row in 0..rows {
            let mut j0 = 0;
            while j0 < row_len {
                let n = CHUNK.min(row_len - j0);
                let flat0 = row * row_len + j0;
                for op in &l.ops {
                    match op {
                        Op::Load { leaf, slot } => {
                            let view = &l.leaves[*leaf];
                            let s = view.inner();
                            self.read_into(
                                k,
                                view,
                                leaf_row[*leaf] + j0 as isize * s,
                                s,
                                &mut slots[*slot][..n],
                            );
                        }
                        Op::Eval { v, slot, args } => {
                            let mut out = std::mem::take(&mut slots[*slot]);
                            {
                                // at most three operands: no allocation per chunk
                                let mut xs: [&[i64]; 3] = [&[]; 3];
                                for (x, a) in xs.iter_mut().zip(args) {
                                    *x = self.src(l, &slots, &written, &leaf_row, *a, j0, flat0, n);
                                }
                                eval(k, *v, &xs[..args.len()], &mut out[..n], flat0);
                            }
                            slots[*slot] = out;
                        }
                        Op::EvalTo { v, write, args } => {
                            let mut out = std::mem::take(&mut written[*write]);
                            {
                                let mut xs: [&[i64]; 3] = [&[]; 3];
                                for (x, a) in xs.iter_mut().zip(args) {
                                    *x = self.src(l, &slots, &written, &leaf_row, *a, j0, flat0, n);
                                }
                                let o = &mut out[flat0..flat0 + n];
                                eval(k, *v, &xs[..args.len()], o, flat0);
                            }
                            written[*write] = out;
                        }
                        Op::Gather {
                            slot,
                            index,
                            table,
                            offset,
                        } => {
                            let mut out = std::mem::take(&mut slots[*slot]);
                            let idx =
                                self.src(l, &slots, &written, &leaf_row, *index, j0, flat0, n);
                            ops::gather(&self.vals[table.index()][*offset..], idx, &mut out[..n]);
                            slots[*slot] = out;
                        }
                        Op::Store { write, src } => {
                            let mut out = std::mem::take(&mut written[*write]);
                            let x = self.src(l, &slots, &written, &leaf_row, *src, j0, flat0, n);
                            out[flat0..flat0 + n].copy_from_slice(x);
                            written[*write] = out;
                        }
                        Op::Fold { sink, args } => {
                            let mut xs: [&[i64]; 3] = [&[]; 3];
                            let s = &l.sinks[*sink];
                            let mut acc = std::mem::take(&mut written[s.write]);
                            for (x, a) in xs.iter_mut().zip(args) {
                                *x = self.src(l, &slots, &written, &leaf_row, *a, j0, flat0, n);
                            }
                            let at = sink_row[*sink] as usize + if s.inner { j0 } else { 0 };
                            fold(
                                k,
                                s.v,
                                &xs[..args.len()],
                                &mut acc,
                                &mut sums[s.write],
                                at,
                                s.inner,
                            );
                            written[s.write] = acc;
                        }
                    }
                }
                j0 += n;
            }
            // the next row: an odometer over the outer axes
            let mut d = r - 1;
            while d > 0 {
                d -= 1;
                idx[d] += 1;
                for (lr, lf) in leaf_row.iter_mut().zip(&l.leaves) {
                    *lr += lf.strides[d];
                }
                for (sr, s) in sink_row.iter_mut().zip(&l.sinks) {
                    *sr += s.out[d];
                }
                if idx[d] < l.shape[d] {
                    break;
                }
                for (lr, lf) in leaf_row.iter_mut().zip(&l.leaves) {
                    *lr -= lf.strides[d] * l.shape[d] as isize;
                }
                for (sr, s) in sink_row.iter_mut().zip(&l.sinks) {
                    *sr -= s.out[d] * l.shape[d] as isize;
                }
                idx[d] = 0;
            }
        }
        for (w, s) in written.iter_mut().zip(sums) {
            sink_finish(w, s);
        }
        for (v, w) in l.writes.iter().zip(written) {
            self.vals[v.index()] = w;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn src<'s>(
        &'s self,
        l: &Loop,
        slots: &'s [Vec<i64>],
        written: &'s [Vec<i64>],
        leaf_row: &[isize],
        s: Src,
        j0: usize,
        flat0: usize,
        n: usize,
    ) -> &'s [i64] {
        match s {
            Src::Slot(i) => &slots[i][..n],
            Src::Written(w) => &written[w][flat0..flat0 + n],
            Src::Direct(leaf) => {
                let Base::Lanes(v) = l.leaves[leaf].base else {
                    unreachable!("direct leaves are lanes")
                };
                let at = (leaf_row[leaf] + j0 as isize) as usize;
                &self.vals[v.index()][at..at + n]
            }
        }
    }
}

/// A chunk of an elementwise member: `a` its operands' chunks, `flat0` the
/// flat index of its first element.
pub(crate) fn eval(k: &Kernel, v: Value, a: &[&[i64]], o: &mut [i64], flat0: usize) {
    let d = &k.insts[v];
    match &d.inst {
        Inst::Unary(op, _) => ops::unary(*op, d.ty.dtype, a[0], o),
        Inst::Binary(op, ..) => ops::binary(*op, d.ty.dtype, a[0], a[1], o),
        Inst::Compare(op, x, y) => ops::compare(*op, k.dtype(*x), k.dtype(*y), a[0], a[1], o),
        Inst::Where(..) => ops::select(a[0], a[1], a[2], o),
        Inst::Cast(_) => ops::cast(d.ty.dtype, a[0], o),
        Inst::Iota => {
            for (j, x) in o.iter_mut().enumerate() {
                *x = (flat0 + j) as i64;
            }
        }
        inst => unreachable!("{inst:?} is not elementwise"),
    }
}

/// Folds a chunk into sink `v`: `xs` its operands' chunks, `at` the index
/// of the result the chunk goes to (`inner`: the innermost axis is kept, and
/// `at` is where its first element goes).
pub(crate) fn fold(
    k: &Kernel,
    v: Value,
    xs: &[&[i64]],
    acc: &mut Vec<i64>,
    wsum: &mut Option<Vec<i128>>,
    at: usize,
    inner: bool,
) {
    match &k.insts[v].inst {
        Inst::Reduce(op, a, _) => {
            let (d, ad) = (k.dtype(v), k.dtype(*a));
            if inner {
                ops::fold_each(*op, d, ad, &mut acc[at..at + xs[0].len()], xs[0]);
            } else {
                acc[at] = ops::fold(*op, d, ad, acc[at], xs[0]);
            }
        }
        Inst::Bincount(_, w, m, _) => {
            let mask = m.map(|_| xs[1 + w.is_some() as usize]);
            let keep = |i: usize| mask.is_none_or(|m| m[i] != 0);
            match (w, wsum) {
                (Some(w), Some(s)) => {
                    let wd = k.dtype(*w);
                    for (i, &b) in xs[0].iter().enumerate() {
                        if keep(i) {
                            s[b as usize] += ops::from_lane(wd, xs[1][i]);
                        }
                    }
                }
                _ => {
                    for (i, &b) in xs[0].iter().enumerate() {
                        if keep(i) {
                            acc[b as usize] += 1;
                        }
                    }
                }
            }
        }
        Inst::Compress(..) => {
            // branch-free: every element is written at the end, and the end
            // moves on only past a kept one (a mask of random hits
            // mispredicts a branch every few elements); compacted in a buffer
            // of the chunk's size, then the kept ones appended
            let mut kept = [0i64; CHUNK];
            for part in xs[0].chunks(CHUNK).zip(xs[1].chunks(CHUNK)) {
                let mut n = 0;
                for (&x, &m) in part.0.iter().zip(part.1) {
                    kept[n] = x;
                    n += (m != 0) as usize;
                }
                acc.extend_from_slice(&kept[..n]);
            }
        }
        inst => unreachable!("{inst:?} is not a sink"),
    }
}
