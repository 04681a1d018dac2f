//! The reference interpreter: runs one frame of a kernel with numpy's exact semantics.
//!
//! It is the definition the simulator and the hardware are checked against, so it is
//! written for obviousness: every instruction produces a whole array.

use crate::array::{unravel, Array};
use crate::ir::{Inst, Kernel};
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
