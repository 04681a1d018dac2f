//! Constant folding: an elementwise instruction whose operands are all
//! constants — a `const`, or a `broadcast` or `reshape` of one — is the
//! constant numpy computes, by the interpreter's own scalar rules
//! (`semantics`), broadcast to the instruction's shape; a look-up at a
//! constant index in a constant table is that entry. Nothing of it is left
//! to become hardware.

use super::rebuild;
use crate::ir::{Inst, InstData, Kernel, Value};
use crate::semantics;
use crate::types::Type;
use cranelift_entity::EntityRef;

/// The value every element of `v` has, if `v` is a constant (seen through
/// broadcasts and reshapes).
pub fn constant(k: &Kernel, v: Value) -> Option<i128> {
    match &k.insts[v].inst {
        Inst::Const(c) => Some(*c),
        Inst::Broadcast(a) | Inst::Reshape(a) => constant(k, *a),
        _ => None,
    }
}

/// The value of `d` (in the kernel `k` its operands are in) when its operands
/// are constants.
fn folded(k: &Kernel, d: &InstData) -> Option<i128> {
    let dtype = d.ty.dtype;
    let c = |v: &Value| constant(k, *v);
    Some(match &d.inst {
        Inst::Unary(op, a) => semantics::unary(*op, dtype, c(a)?),
        Inst::Binary(op, a, b) => semantics::binary(*op, dtype, c(a)?, c(b)?),
        Inst::Compare(op, a, b) => op.eval(c(a)?, c(b)?) as i128,
        Inst::Where(cond, a, b) => {
            if c(cond)? != 0 {
                c(a)?
            } else {
                c(b)?
            }
        }
        Inst::Cast(a) => dtype.wrap(c(a)?),
        Inst::Gather(t, i) => match &k.insts[*t].inst {
            Inst::Table(values) => *values.get(usize::try_from(c(i)?).ok()?)?,
            _ => return None,
        },
        _ => return None,
    })
}

/// `k` with every elementwise instruction on constants replaced by its value.
pub fn run(k: &Kernel) -> Kernel {
    rebuild(k, |out, _, d, map| {
        if !d.inst.is_elementwise() && !matches!(d.inst, Inst::Gather(..)) {
            return None;
        }
        let mut mapped = d.clone();
        mapped.inst = d.inst.map_args(|a| map[a.index()]);
        let value = folded(out, &mapped)?;
        let scalar = out.push(Inst::Const(value), Type::scalar(d.ty.dtype), d.span);
        if d.ty.is_scalar() {
            Some(scalar)
        } else {
            Some(out.push(Inst::Broadcast(scalar), d.ty.clone(), d.span))
        }
    })
}
