//! Comparisons that range analysis decides: `frame >= 0` on an unsigned frame
//! is true for every element, so `(frame >= 0) & (frame <= 4096)` (what
//! `np.histogram`'s range check becomes) is just `frame <= 4096`, and a
//! `np.where` on a decided condition is one of its branches. The instruction
//! that combined them is replaced by the operand that decides it, and
//! [`super::dce`] drops the comparison: no register and no comparator for a
//! value every frame already knows.

use super::ranges::Ranges;
use crate::ir::{BinaryOp, Inst, Kernel, Value};
use crate::types::DType;

/// The operand an instruction passes on unchanged because range analysis decides
/// it: `x & True`, `x | False` (booleans), `where(True, a, b)`.
fn passes_on(k: &Kernel, r: &Ranges, v: Value) -> Option<Value> {
    let d = &k.insts[v];
    let point = |x: Value| (r[x].lo == r[x].hi).then_some(r[x].lo);
    // what may stand for the instruction: the same rule as `identities`
    let same = |x: Value| super::stands_for(k, x, v);
    match d.inst {
        Inst::Binary(op @ (BinaryOp::And | BinaryOp::Or), a, b) if d.ty.dtype == DType::Bool => {
            // the neutral value: True for `&`, False for `|`
            let neutral = (op == BinaryOp::And) as i128;
            [(a, b), (b, a)]
                .into_iter()
                .find(|&(x, y)| point(x) == Some(neutral) && same(y) && k.dtype(y) == DType::Bool)
                .map(|(_, y)| y)
        }
        Inst::Where(c, a, b) => {
            let x = match point(c)? {
                0 => b,
                _ => a,
            };
            same(x).then_some(x)
        }
        _ => None,
    }
}

/// `k` with the instructions that a decided comparison makes pass an operand on
/// replaced by that operand.
pub fn run(k: &Kernel) -> Kernel {
    super::pass_operands_on(k, passes_on)
}
