//! The reference interpreter: runs one frame of a kernel with numpy's exact semantics.
//!
//! It is the definition the simulator and the hardware are checked against, so it is
//! written for obviousness: every instruction produces a whole array.

use crate::array::{unravel, Array};
use crate::ir::{Inst, Kernel, ReduceOp};
use crate::semantics;
use crate::types::numel;

/// Runs one frame. `args` holds one array per parameter (0-d for scalars), already
/// checked by [`crate::array::bind`].
pub fn run(k: &Kernel, args: &[Array]) -> Vec<Array> {
    let mut vals: Vec<Array> = Vec::with_capacity(k.insts.len());
    for (_, d) in k.insts.iter() {
        let ty = &d.ty;
        let n = ty.numel();
        let at = |a: &Array, i: usize| {
            if a.data.len() == 1 {
                a.data[0]
            } else {
                a.data[i]
            }
        };
        let data: Vec<i128> = match &d.inst {
            Inst::Input(i) => args[*i as usize].data.clone(),
            Inst::Const(c) => vec![*c],
            Inst::Unary(op, a) => {
                let a = &vals[a.index()];
                (0..n)
                    .map(|i| semantics::unary(*op, ty.dtype, at(a, i)))
                    .collect()
            }
            Inst::Binary(op, a, b) => {
                let (a, b) = (&vals[a.index()], &vals[b.index()]);
                (0..n)
                    .map(|i| semantics::binary(*op, ty.dtype, at(a, i), at(b, i)))
                    .collect()
            }
            Inst::Compare(op, a, b) => {
                let (a, b) = (&vals[a.index()], &vals[b.index()]);
                (0..n)
                    .map(|i| op.eval(at(a, i), at(b, i)) as i128)
                    .collect()
            }
            Inst::Where(c, a, b) => {
                let (c, a, b) = (&vals[c.index()], &vals[a.index()], &vals[b.index()]);
                (0..n)
                    .map(|i| if at(c, i) != 0 { at(a, i) } else { at(b, i) })
                    .collect()
            }
            Inst::Cast(a) => {
                let a = &vals[a.index()];
                (0..n).map(|i| ty.dtype.wrap(at(a, i))).collect()
            }
            Inst::Broadcast(a) => {
                let a = &vals[a.index()];
                (0..n)
                    .map(|i| a.data[source_index(i, &ty.shape, &a.shape)])
                    .collect()
            }
            Inst::Reduce(op @ (ReduceOp::ArgMax | ReduceOp::ArgMin), a, axes) => {
                let a = &vals[a.index()];
                let mut best: Vec<Option<(i128, i128)>> = vec![None; n.max(1)];
                for (i, &x) in a.data.iter().enumerate() {
                    let r = reduced_index(i, &a.shape, axes);
                    let pos = match axes.first() {
                        Some(&ax) => unravel(i, &a.shape)[ax as usize] as i128,
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
                let a = &vals[a.index()];
                let arg_dtype = a.dtype;
                let mut acc = vec![semantics::reduce_identity(*op, arg_dtype); n.max(1)];
                for (i, &x) in a.data.iter().enumerate() {
                    let r = reduced_index(i, &a.shape, axes);
                    acc[r] = semantics::reduce_step(*op, ty.dtype, acc[r], x);
                }
                acc
            }
            Inst::Reshape(a) => vals[a.index()].data.clone(),
            Inst::Slice(a, sel) => {
                let a = &vals[a.index()];
                (0..n)
                    .map(|i| {
                        let idx = unravel(i, &ty.shape);
                        let src = sel.iter().zip(&a.shape).enumerate().fold(
                            0usize,
                            |acc, (d, (&(s, st, _), &dim))| {
                                acc * dim as usize + (s + st * idx[d] as u32) as usize
                            },
                        );
                        a.data[src]
                    })
                    .collect()
            }
            Inst::Table(values) => values.clone(),
            Inst::Gather(t, i) => {
                let (t, i) = (&vals[t.index()], &vals[i.index()]);
                i.data.iter().map(|&x| t.data[x as usize]).collect()
            }
            Inst::Scan(a) => {
                let mut acc = 0i128;
                vals[a.index()]
                    .data
                    .iter()
                    .map(|&x| {
                        acc = ty.dtype.wrap(acc + x);
                        acc
                    })
                    .collect()
            }
            Inst::Bincount(x, w, m, bins) => {
                let mut acc = vec![0i128; *bins as usize];
                let xs = &vals[x.index()].data;
                for (i, &b) in xs.iter().enumerate() {
                    if m.is_none_or(|m| vals[m.index()].data[i] != 0) {
                        acc[b as usize] += w.map_or(1, |w| vals[w.index()].data[i]);
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
        };
        debug_assert_eq!(data.len(), numel(&ty.shape));
        vals.push(Array::new(ty.dtype, ty.shape.clone(), data));
    }
    k.outputs.iter().map(|o| vals[o.index()].clone()).collect()
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
/// (empty: all axes).
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
