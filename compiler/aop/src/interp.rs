//! The reference interpreter: runs one frame of a kernel with numpy's exact semantics.
//!
//! It is the definition the simulator and the hardware are checked against, so it is
//! written for obviousness: every instruction produces a whole array.

use crate::array::{unravel, Array};
use crate::ir::{Inst, Kernel, ReduceOp, Value};
use crate::semantics;
use crate::types::numel;
use std::borrow::Cow;

/// Runs one frame from zero state (a stateless kernel's whole meaning). `args`
/// holds one array per parameter (0-d for scalars), already checked by
/// [`crate::array::bind`].
pub fn run(k: &Kernel, args: &[Array]) -> Vec<Array> {
    let data: Vec<&[i128]> = args.iter().map(|a| a.data.as_slice()).collect();
    run_data(k, &data, &mut zero_states(k))
}

/// Every state of `k` as it starts without `--state`: zeros, in C order.
pub fn zero_states(k: &Kernel) -> Vec<Vec<i128>> {
    k.states.iter().map(|s| vec![0; s.ty.numel()]).collect()
}

/// Cells of an elementwise result: `f` of the operands' elements (a one-element
/// operand is broadcast). An operand given as `None` is `out` itself, read at
/// each index before that index is written: a dying operand's buffer is reused.
fn elementwise<const K: usize>(
    out: &mut Vec<i128>,
    n: usize,
    ops: [Option<&[i128]>; K],
    f: impl Fn([i128; K]) -> i128,
) {
    out.resize(n, 0);
    for i in 0..n {
        let xs = ops.map(|o| match o {
            Some(s) if s.len() == 1 => s[0],
            Some(s) => s[i],
            None => out[i],
        });
        out[i] = f(xs);
    }
}

/// Runs one frame on the parameters' elements (C order, one slice per parameter),
/// read in place. `states` holds each state's elements as the frame begins and
/// as it leaves them (what the next frame sees).
pub fn run_data(k: &Kernel, args: &[&[i128]], states: &mut [Vec<i128>]) -> Vec<Array> {
    // the instruction after which each value is no longer read
    let mut last_use = vec![0usize; k.insts.len()];
    for (v, d) in k.insts.iter() {
        for a in d.inst.args() {
            last_use[a.index()] = v.index();
        }
    }
    for o in k.roots() {
        last_use[o.index()] = usize::MAX;
    }
    let mut vals: Vec<Cow<[i128]>> = Vec::with_capacity(k.insts.len());
    for (v, d) in k.insts.iter() {
        let ty = &d.ty;
        let n = ty.numel();
        // the buffer of an operand read for the last time here, if it is this
        // result's size and read once by it (so it can be overwritten in place)
        let ops = d.inst.args();
        let in_place = d.inst.is_elementwise() || matches!(d.inst, Inst::Reshape(..));
        let dying = ops.iter().position(|a| {
            in_place
                && last_use[a.index()] == v.index()
                && matches!(vals[a.index()], Cow::Owned(ref b) if b.len() == n)
                && ops.iter().filter(|b| *b == a).count() == 1
        });
        let mut out: Vec<i128> = match dying {
            Some(i) => std::mem::take(&mut vals[ops[i].index()]).into_owned(),
            None => Vec::new(),
        };
        // operand `i` of this instruction: None when its buffer became `out`
        let opnd = |i: usize| (dying != Some(i)).then(|| &*vals[ops[i].index()]);
        let data: Cow<[i128]> = match &d.inst {
            Inst::Input(i) => Cow::Borrowed(args[*i as usize]),
            Inst::State(i) => Cow::Owned(states[*i as usize].clone()),
            Inst::Const(c) => Cow::Owned(vec![*c]),
            Inst::Unary(op, _) => {
                elementwise(&mut out, n, [opnd(0)], |[x]| {
                    semantics::unary(*op, ty.dtype, x)
                });
                Cow::Owned(out)
            }
            Inst::Binary(op, _, _) => {
                elementwise(&mut out, n, [opnd(0), opnd(1)], |[x, y]| {
                    semantics::binary(*op, ty.dtype, x, y)
                });
                Cow::Owned(out)
            }
            Inst::Compare(op, _, _) => {
                elementwise(&mut out, n, [opnd(0), opnd(1)], |[x, y]| {
                    op.eval(x, y) as i128
                });
                Cow::Owned(out)
            }
            Inst::Where(..) => {
                elementwise(&mut out, n, [opnd(0), opnd(1), opnd(2)], |[c, x, y]| {
                    if c != 0 {
                        x
                    } else {
                        y
                    }
                });
                Cow::Owned(out)
            }
            Inst::Cast(_) => {
                elementwise(&mut out, n, [opnd(0)], |[x]| ty.dtype.wrap(x));
                Cow::Owned(out)
            }
            Inst::Reshape(a) => match dying {
                Some(_) => Cow::Owned(out),
                None => match &vals[a.index()] {
                    Cow::Borrowed(b) => Cow::Borrowed(*b),
                    Cow::Owned(b) => Cow::Owned(b.clone()),
                },
            },
            inst => Cow::Owned(rearranged(inst, ty, &vals, k)),
        };
        debug_assert!(
            data.len() == numel(&ty.shape)
                || matches!(d.inst, Inst::Compress(..)) && data.len() <= numel(&ty.shape)
        );
        vals.push(data);
    }
    for (s, u) in states.iter_mut().zip(&k.updates) {
        s.copy_from_slice(&vals[u.index()]);
    }
    k.outputs
        .iter()
        .map(|o| {
            let ty = &k.insts[*o].ty;
            let data = vals[o.index()].to_vec();
            // a compressed output is as long as its selection
            let shape = match k.insts[*o].inst {
                Inst::Compress(..) => vec![data.len() as u32],
                _ => ty.shape.clone(),
            };
            Array::new(ty.dtype, shape, data)
        })
        .collect()
}

/// The instructions that are not elementwise (reductions, slices, broadcasts,
/// tables, scans, bin counts): each builds a new array of its own shape.
fn rearranged(inst: &Inst, ty: &crate::types::Type, vals: &[Cow<[i128]>], k: &Kernel) -> Vec<i128> {
    let n = ty.numel();
    let shape = |v: &Value| &k.insts[*v].ty.shape;
    match inst {
        Inst::Broadcast(a) => {
            let (from, a) = (shape(a), &vals[a.index()]);
            (0..n)
                .map(|i| a[source_index(i, &ty.shape, from)])
                .collect()
        }
        Inst::Reduce(op @ (ReduceOp::ArgMax | ReduceOp::ArgMin), a, axes) => {
            let (from, a) = (shape(a), &vals[a.index()]);
            let mut best: Vec<Option<(i128, i128)>> = vec![None; n.max(1)];
            for (i, &x) in a.iter().enumerate() {
                let r = reduced_index(i, from, axes);
                let pos = match axes.first() {
                    Some(&ax) => unravel(i, from)[ax as usize] as i128,
                    None => i as i128,
                };
                let better = match best[r] {
                    None => true,
                    Some((b, _)) => {
                        if *op == ReduceOp::ArgMax {
                            x > b
                        } else {
                            x < b
                        }
                    }
                };
                if better {
                    best[r] = Some((x, pos));
                }
            }
            best.into_iter().map(|b| b.map_or(0, |(_, p)| p)).collect()
        }
        Inst::Reduce(op, a, axes) => {
            let arg_dtype = k.insts[*a].ty.dtype;
            let (from, a) = (shape(a), &vals[a.index()]);
            let mut acc = vec![semantics::reduce_identity(*op, arg_dtype); n.max(1)];
            for (i, &x) in a.iter().enumerate() {
                let r = reduced_index(i, from, axes);
                acc[r] = semantics::reduce_step(*op, ty.dtype, acc[r], x);
            }
            acc
        }
        Inst::Slice(a, sel) => {
            let (from, a) = (shape(a), &vals[a.index()]);
            (0..n)
                .map(|i| {
                    let idx = unravel(i, &ty.shape);
                    let src = sel.iter().zip(from).enumerate().fold(
                        0usize,
                        |acc, (d, (&(s, st, _), &dim))| {
                            acc * dim as usize + (s + st * idx[d] as u32) as usize
                        },
                    );
                    a[src]
                })
                .collect()
        }
        Inst::Table(values) => values.clone(),
        Inst::Iota => (0..n as i128).collect(),
        Inst::Concat(vs, axis) => {
            // for each index of the axes before `axis`, each operand's block in turn
            let outer: usize = ty.shape[..*axis as usize]
                .iter()
                .map(|&d| d as usize)
                .product();
            let blocks: Vec<usize> = vs
                .iter()
                .map(|v| {
                    shape(v)[*axis as usize..]
                        .iter()
                        .map(|&d| d as usize)
                        .product()
                })
                .collect();
            let mut out = Vec::with_capacity(n);
            for o in 0..outer {
                for (v, b) in vs.iter().zip(&blocks) {
                    out.extend_from_slice(&vals[v.index()][o * b..(o + 1) * b]);
                }
            }
            out
        }
        Inst::Compress(a, m) => {
            let (a, m) = (&vals[a.index()], &vals[m.index()]);
            a.iter()
                .zip(m.iter())
                .filter(|(_, &m)| m != 0)
                .map(|(&x, _)| x)
                .collect()
        }
        Inst::Gather(t, i) => {
            let (t, i) = (&vals[t.index()], &vals[i.index()]);
            i.iter().map(|&x| t[x as usize]).collect()
        }
        Inst::Scan(a) => {
            let mut acc = 0i128;
            vals[a.index()]
                .iter()
                .map(|&x| {
                    acc = ty.dtype.wrap(acc + x);
                    acc
                })
                .collect()
        }
        Inst::Bincount(x, w, m, bins) => {
            let mut acc = vec![0i128; *bins as usize];
            let xs = &vals[x.index()];
            for (i, &b) in xs.iter().enumerate() {
                if m.is_none_or(|m| vals[m.index()][i] != 0) {
                    acc[b as usize] += w.map_or(1, |w| vals[w.index()][i]);
                }
            }
            if w.is_some() {
                acc.into_iter()
                    .map(|v| (v as f64).to_bits() as i128)
                    .collect()
            } else {
                acc
            }
        }
        Inst::Input(_)
        | Inst::State(_)
        | Inst::Const(_)
        | Inst::Unary(..)
        | Inst::Binary(..)
        | Inst::Compare(..)
        | Inst::Where(..)
        | Inst::Cast(..)
        | Inst::Reshape(..) => unreachable!("handled by run_data"),
    }
}

trait Index {
    fn index(&self) -> usize;
}
impl Index for crate::ir::Value {
    fn index(&self) -> usize {
        cranelift_entity::EntityRef::index(*self)
    }
}

/// For flat index `i` of `to`, the flat index of the element of `from` that numpy
/// broadcasting reads.
pub fn source_index(i: usize, to: &[u32], from: &[u32]) -> usize {
    let idx = unravel(i, to);
    let off = to.len() - from.len();
    from.iter().enumerate().fold(0, |acc, (d, &n)| {
        acc * n as usize + if n == 1 { 0 } else { idx[off + d] }
    })
}

/// For flat index `i` of `shape`, the flat index in the result of reducing `axes`
/// (empty: all axes, cheap enough to call per element).
#[inline]
pub fn reduced_index(i: usize, shape: &[u32], axes: &[u32]) -> usize {
    if axes.is_empty() {
        return 0;
    }
    let idx = unravel(i, shape);
    shape
        .iter()
        .enumerate()
        .filter(|(d, _)| !axes.contains(&(*d as u32)))
        .fold(0, |acc, (d, &n)| acc * n as usize + idx[d])
}
