//! Running a planned kernel: each group's loop as a chunk program over
//! scratch slots, each step over whole arrays.

use crate::ops;
use crate::plan::{Group, Node, Plan};
use crate::view::{c_strides, Base, View};
use cranelift_entity::EntityRef;
use hissc_aop::types::numel;
use hissc_aop::{Inst, Kernel, Value};
use std::borrow::Cow;

/// Elements per chunk: a loop's scratch slots (8 KiB each) stay in cache.
pub(crate) const CHUNK: usize = 1024;

/// Where an operand of a loop's instruction is read.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Src {
    /// A scratch slot.
    Slot(usize),
    /// A leaf read in place: back-to-back lanes.
    Direct(usize),
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
    /// Writes a member's chunk to its lanes.
    Store { v: Value, src: Src },
    /// Folds a chunk into a sink.
    Fold { v: Value, args: Vec<Src> },
}

/// A view a loop reads, in the loop's own index space.
#[derive(Clone, Debug)]
pub(crate) struct Leaf {
    view: View,
}

/// A sink's place in a loop: per axis of the loop, the stride of its result
/// (0 for an axis reduced).
#[derive(Clone, Debug)]
struct SinkAt {
    v: Value,
    out: Vec<isize>,
}

/// A group compiled to a chunk program.
#[derive(Clone, Debug)]
pub(crate) struct Loop {
    /// The shape iterated (rows of its last axis): the group's shape, or its
    /// size when it runs flat.
    shape: Vec<u32>,
    ops: Vec<Op>,
    leaves: Vec<Leaf>,
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

/// Compiles group `g` of `plan`.
pub(crate) fn compile_loop(k: &Kernel, plan: &Plan, g: &Group) -> Loop {
    let rows_shape = if g.flat {
        vec![numel(&g.shapes[0]) as u32]
    } else {
        g.shapes[0].clone()
    };
    let in_loop =
        |a: Value| g.items.contains(&a) && !matches!(plan.nodes[a.index()], Node::Sink(_));
    let root = |a: Value| plan.alias[a.index()].unwrap_or(a);
    // virtual registers: members (by root) and loaded leaves
    #[derive(Clone, Copy, PartialEq, Eq, Hash)]
    enum R {
        Member(Value),
        Leaf(usize),
        Splat(Value),
    }
    let mut leaves: Vec<(Value, Leaf)> = Vec::new();
    let mut ops: Vec<(Op, Vec<R>, Option<R>)> = Vec::new(); // op, reads, defines
    let mut sinks = Vec::new();
    let mut writes = Vec::new();
    let mut splat_vals: Vec<Value> = Vec::new();
    let leaf_of = |a: Value, leaves: &mut Vec<(Value, Leaf)>| -> (usize, bool) {
        if let Some(i) = leaves.iter().position(|(v, _)| *v == a) {
            return (i, false);
        }
        let mut view = plan.view(k, a);
        if g.flat {
            view = View {
                base: view.base,
                offset: view.offset,
                strides: vec![1],
                shape: rows_shape.clone(),
            };
        }
        leaves.push((a, Leaf { view }));
        (leaves.len() - 1, true)
    };
    let operand = |a: Value,
                   ops: &mut Vec<(Op, Vec<R>, Option<R>)>,
                   leaves: &mut Vec<(Value, Leaf)>,
                   splat_vals: &mut Vec<Value>|
     -> R {
        if in_loop(a) {
            return R::Member(root(a));
        }
        if k.ty(a).shape.is_empty() {
            if !splat_vals.contains(&a) {
                splat_vals.push(a);
            }
            return R::Splat(a);
        }
        let (i, new) = leaf_of(a, leaves);
        if new {
            ops.push((Op::Load { leaf: i, slot: 0 }, vec![], Some(R::Leaf(i))));
        }
        R::Leaf(i)
    };
    for &v in &g.items {
        let d = &k.insts[v];
        if plan.alias[v.index()].is_some() {
            if plan.stored[v.index()] {
                ops.push((
                    Op::Store {
                        v,
                        src: Src::Slot(0),
                    },
                    vec![R::Member(root(v))],
                    None,
                ));
                writes.push(v);
            }
            continue;
        }
        let args: Vec<Value> = match &d.inst {
            Inst::Gather(_, i) => vec![*i],
            inst => inst.args(),
        };
        let reads: Vec<R> = args
            .iter()
            .map(|&a| operand(a, &mut ops, &mut leaves, &mut splat_vals))
            .collect();
        if let Node::Sink(_) = plan.nodes[v.index()] {
            let of = &k.ty(args[0]).shape;
            let out = match &d.inst {
                Inst::Reduce(_, _, axes) if !axes.is_empty() && !g.flat => {
                    let kept: Vec<u32> =
                        (0..of.len() as u32).filter(|d| !axes.contains(d)).collect();
                    let kept_shape: Vec<u32> = kept.iter().map(|&d| of[d as usize]).collect();
                    let ks = c_strides(&kept_shape);
                    (0..of.len())
                        .map(|d| {
                            kept.iter()
                                .position(|&x| x as usize == d)
                                .map_or(0, |i| ks[i])
                        })
                        .collect()
                }
                _ => vec![0; rows_shape.len()],
            };
            sinks.push(SinkAt { v, out });
            writes.push(v);
            ops.push((Op::Fold { v, args: vec![] }, reads, None));
        } else {
            ops.push((
                Op::Eval {
                    v,
                    slot: 0,
                    args: vec![],
                },
                reads,
                Some(R::Member(v)),
            ));
            if plan.stored[v.index()] {
                ops.push((
                    Op::Store {
                        v,
                        src: Src::Slot(0),
                    },
                    vec![R::Member(v)],
                    None,
                ));
                writes.push(v);
            }
        }
    }
    // slots: splats hold theirs for the whole loop; the rest from their
    // definition to their last read
    let mut last = std::collections::HashMap::new();
    for (i, (_, reads, _)) in ops.iter().enumerate() {
        for r in reads {
            last.insert(*r, i);
        }
    }
    let mut slot_of: std::collections::HashMap<R, Src> = std::collections::HashMap::new();
    let mut splats = Vec::new();
    let mut nslots = 0;
    for &s in &splat_vals {
        splats.push((nslots, plan.view(k, s)));
        slot_of.insert(R::Splat(s), Src::Slot(nslots));
        nslots += 1;
    }
    let mut free: Vec<usize> = Vec::new();
    let mut out_ops = Vec::with_capacity(ops.len());
    for (i, (op, reads, def)) in ops.into_iter().enumerate() {
        let args: Vec<Src> = reads.iter().map(|r| slot_of[r]).collect();
        let mut take = || {
            free.pop().unwrap_or_else(|| {
                nslots += 1;
                nslots - 1
            })
        };
        let op = match op {
            Op::Load { leaf, .. } => {
                let l = &leaves[leaf].1;
                let direct = matches!(l.view.base, Base::Lanes(_)) && l.view.inner() == 1;
                if direct {
                    slot_of.insert(def.expect("a load defines"), Src::Direct(leaf));
                    continue;
                }
                let slot = take();
                slot_of.insert(def.expect("a load defines"), Src::Slot(slot));
                Op::Load { leaf, slot }
            }
            Op::Eval { v, .. } => {
                let slot = take();
                slot_of.insert(def.expect("an eval defines"), Src::Slot(slot));
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
            Op::Store { v, .. } => Op::Store { v, src: args[0] },
            Op::Fold { v, .. } => Op::Fold { v, args },
            Op::Gather { .. } => unreachable!("made here from an eval"),
        };
        out_ops.push(op);
        let defined_unread = def.filter(|d| !last.contains_key(d));
        for r in reads.iter().chain(defined_unread.iter()) {
            if last.get(r).is_none_or(|&l| l == i) && !matches!(r, R::Splat(_)) {
                if let Some(Src::Slot(s)) = slot_of.get(r) {
                    if !free.contains(s) {
                        free.push(*s);
                    }
                }
            }
        }
    }
    Loop {
        shape: rows_shape,
        ops: out_ops,
        leaves: leaves.into_iter().map(|(_, l)| l).collect(),
        splats,
        sinks,
        writes,
        slots: nslots,
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
        let slot_w = |v: Value| l.writes.iter().position(|w| *w == v).expect("written");
        let total = numel(&l.shape);
        // weighted bin counts' exact sums, per written value
        let mut wsums: Vec<Option<Vec<i128>>> = vec![None; l.writes.len()];
        for &v in &l.writes {
            let w = &mut written[slot_w(v)];
            w.clear();
            match &k.insts[v].inst {
                Inst::Reduce(op, a, _) => {
                    w.resize(k.ty(v).numel().max(1), ops::identity(*op, k.dtype(*a)))
                }
                Inst::Bincount(_, wt, _, bins) => {
                    w.resize(*bins as usize, 0);
                    if wt.is_some() {
                        wsums[slot_w(v)] = Some(vec![0; *bins as usize]);
                    }
                }
                Inst::Compress(..) => {}
                _ => w.resize(total, 0),
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
        let mut leaf_row: Vec<isize> = l.leaves.iter().map(|x| x.view.offset).collect();
        let mut sink_row = vec![0isize; l.sinks.len()];
        for row in 0..rows {
            let mut j0 = 0;
            while j0 < row_len {
                let n = CHUNK.min(row_len - j0);
                let flat0 = row * row_len + j0;
                for op in &l.ops {
                    match op {
                        Op::Load { leaf, slot } => {
                            let lf = &l.leaves[*leaf];
                            let s = lf.view.inner();
                            self.read_into(
                                k,
                                &lf.view,
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
                                    *x = self.src(l, &slots, &leaf_row, *a, j0, n);
                                }
                                eval(k, *v, &xs[..args.len()], &mut out[..n], flat0);
                            }
                            slots[*slot] = out;
                        }
                        Op::Gather {
                            slot,
                            index,
                            table,
                            offset,
                        } => {
                            let mut out = std::mem::take(&mut slots[*slot]);
                            let idx = self.src(l, &slots, &leaf_row, *index, j0, n);
                            ops::gather(&self.vals[table.index()][*offset..], idx, &mut out[..n]);
                            slots[*slot] = out;
                        }
                        Op::Store { v, src } => {
                            let x = self.src(l, &slots, &leaf_row, *src, j0, n);
                            written[slot_w(*v)][flat0..flat0 + n].copy_from_slice(x);
                        }
                        Op::Fold { v, args } => {
                            let mut xs: [&[i64]; 3] = [&[]; 3];
                            for (x, a) in xs.iter_mut().zip(args) {
                                *x = self.src(l, &slots, &leaf_row, *a, j0, n);
                            }
                            let xs = &xs[..args.len()];
                            let si = l.sinks.iter().position(|s| s.v == *v).expect("a sink");
                            let at = sink_row[si] as usize;
                            let last_out = *l.sinks[si].out.last().expect("a loop has an axis");
                            let w = slot_w(*v);
                            fold(
                                k,
                                *v,
                                xs,
                                &mut written[w],
                                &mut wsums[w],
                                at + if last_out == 0 { 0 } else { j0 },
                            );
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
                    *lr += lf.view.strides[d];
                }
                for (sr, s) in sink_row.iter_mut().zip(&l.sinks) {
                    *sr += s.out[d];
                }
                if idx[d] < l.shape[d] {
                    break;
                }
                for (lr, lf) in leaf_row.iter_mut().zip(&l.leaves) {
                    *lr -= lf.view.strides[d] * l.shape[d] as isize;
                }
                for (sr, s) in sink_row.iter_mut().zip(&l.sinks) {
                    *sr -= s.out[d] * l.shape[d] as isize;
                }
                idx[d] = 0;
            }
        }
        // weighted bin counts: exact sums to float64, as the interpreter gives them
        for (w, s) in written.iter_mut().zip(wsums) {
            if let Some(s) = s {
                for (o, x) in w.iter_mut().zip(s) {
                    *o = (x as f64).to_bits() as i64;
                }
            }
        }
        for (v, w) in l.writes.iter().zip(written) {
            self.vals[v.index()] = w;
        }
    }

    fn src<'s>(
        &'s self,
        l: &Loop,
        slots: &'s [Vec<i64>],
        leaf_row: &[isize],
        s: Src,
        j0: usize,
        n: usize,
    ) -> &'s [i64] {
        match s {
            Src::Slot(i) => &slots[i][..n],
            Src::Direct(leaf) => {
                let Base::Lanes(v) = l.leaves[leaf].view.base else {
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
fn eval(k: &Kernel, v: Value, a: &[&[i64]], o: &mut [i64], flat0: usize) {
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
/// of the result the chunk (or its first element, when the innermost axis
/// is kept) goes to.
fn fold(
    k: &Kernel,
    v: Value,
    xs: &[&[i64]],
    acc: &mut Vec<i64>,
    wsum: &mut Option<Vec<i128>>,
    at: usize,
) {
    match &k.insts[v].inst {
        Inst::Reduce(op, a, axes) => {
            let (d, ad) = (k.dtype(v), k.dtype(*a));
            let of = &k.ty(*a).shape;
            let keeps_inner = !axes.is_empty() && !axes.contains(&(of.len() as u32 - 1));
            if keeps_inner && acc.len() > 1 {
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
            for (&x, &m) in xs[0].iter().zip(xs[1]) {
                if m != 0 {
                    acc.push(x);
                }
            }
        }
        inst => unreachable!("{inst:?} is not a sink"),
    }
}

/// An elementwise instruction over whole operands (of the result's size).
pub(crate) fn eval_whole(k: &Kernel, v: Value, a: &[&[i64]], o: &mut [i64]) {
    eval(k, v, a, o, 0)
}
