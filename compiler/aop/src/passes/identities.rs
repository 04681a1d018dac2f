//! Operations that leave an operand unchanged for every value it can take —
//! `x + 0`, `x - 0`, `x | 0`, `x ^ 0`, shifts by 0, `x * 1`, `x // 1`,
//! `np.minimum(x, c)` where `x` never exceeds `c`, `np.maximum(x, c)` where it
//! never falls below, `np.where` on a constant condition — are replaced by that
//! operand, when it has the instruction's dtype and shape: it costs nothing.
//! (A cast that keeps every value is an identity only on the network's
//! untyped buses, so the network's lowering drops it there.)

use super::fold_constants::constant;
use super::ranges::Ranges;
use super::stands_for;
use crate::ir::{BinaryOp, Inst, Kernel, Value};

/// The operand `v` returns unchanged, if it does.
fn passes_on(k: &Kernel, r: &Ranges, v: Value) -> Option<Value> {
    use BinaryOp::*;
    let x = match k.insts[v].inst {
        Inst::Binary(op, a, b) => {
            // the operand that passes, and the constant on the other side
            let (x, c) = match (constant(k, b), constant(k, a)) {
                (Some(c), _) if constant(k, a).is_none() => (a, c),
                (_, Some(c)) if matches!(op, Add | Mul | Or | Xor | Min | Max) => (b, c),
                _ => return None,
            };
            let unchanged = match op {
                Add | Sub | Or | Xor | Shl | Shr => c == 0,
                Mul | FloorDiv => c == 1,
                Min => r[x].hi <= c,
                Max => r[x].lo >= c,
                And | Mod => false,
            };
            unchanged.then_some(x)?
        }
        Inst::Where(c, a, b) => {
            if constant(k, c)? != 0 {
                a
            } else {
                b
            }
        }
        _ => return None,
    };
    stands_for(k, x, v).then_some(x)
}

/// `k` with every such operation replaced by the operand it passes on.
pub fn run(k: &Kernel) -> Kernel {
    super::pass_operands_on(k, passes_on)
}
