//! numpy's exact scalar semantics, shared by the interpreter and the simulator.
//!
//! Values are exact integers (`i128`) already in range of their dtype; every
//! function returns a value in range of the result dtype, wrapped as numpy wraps.

use crate::ir::{BinaryOp, ReduceOp, UnaryOp};
use crate::types::DType;

/// `op a` in dtype `d`.
#[inline]
pub fn unary(op: UnaryOp, d: DType, a: i128) -> i128 {
    match op {
        UnaryOp::Neg => d.wrap(a.wrapping_neg()),
        UnaryOp::Not if d == DType::Bool => (a == 0) as i128,
        UnaryOp::Not => d.wrap(!a),
        UnaryOp::Abs => d.wrap(a.wrapping_abs()),
    }
}

/// `a op b` with both operands of dtype `d`.
#[inline]
pub fn binary(op: BinaryOp, d: DType, a: i128, b: i128) -> i128 {
    let bits = d.bits() as i128;
    match op {
        BinaryOp::Add => d.wrap(a.wrapping_add(b)),
        BinaryOp::Sub => d.wrap(a.wrapping_sub(b)),
        BinaryOp::Mul => d.wrap(a.wrapping_mul(b)),
        BinaryOp::FloorDiv => {
            if b == 0 {
                0
            } else {
                let q = a / b;
                let q = if a % b != 0 && ((a < 0) != (b < 0)) {
                    q - 1
                } else {
                    q
                };
                d.wrap(q)
            }
        }
        BinaryOp::Mod => {
            if b == 0 {
                0
            } else {
                let r = a % b;
                d.wrap(if r != 0 && ((r < 0) != (b < 0)) {
                    r + b
                } else {
                    r
                })
            }
        }
        BinaryOp::And => a & b,
        BinaryOp::Or => a | b,
        BinaryOp::Xor => a ^ b,
        BinaryOp::Shl => {
            if b < 0 || b >= bits {
                0
            } else {
                d.wrap(a.wrapping_shl(b as u32))
            }
        }
        BinaryOp::Shr => {
            if b < 0 || b >= bits {
                if a < 0 {
                    -1
                } else {
                    0
                }
            } else {
                a >> b
            }
        }
        BinaryOp::Min => a.min(b),
        BinaryOp::Max => a.max(b),
    }
}

/// The starting value of a reduction producing dtype `d` from elements of dtype `arg`.
#[inline]
pub fn reduce_identity(op: ReduceOp, arg: DType) -> i128 {
    match op {
        ReduceOp::Sum | ReduceOp::Any | ReduceOp::CountNonzero => 0,
        ReduceOp::All => 1,
        ReduceOp::Min | ReduceOp::ArgMin => arg.max(),
        ReduceOp::Max | ReduceOp::ArgMax => arg.min(),
    }
}

/// Does `x` replace `best` in an `argmax`/`argmin` (strictly better: numpy keeps
/// the first index on ties)?
#[inline]
pub fn arg_better(op: ReduceOp, x: i128, best: i128) -> bool {
    if op == ReduceOp::ArgMin {
        x < best
    } else {
        x > best
    }
}

/// One step of a reduction into an accumulator of the result dtype `d`.
#[inline]
pub fn reduce_step(op: ReduceOp, d: DType, acc: i128, x: i128) -> i128 {
    match op {
        ReduceOp::Sum => d.wrap(acc.wrapping_add(x)),
        ReduceOp::Min | ReduceOp::ArgMin => acc.min(x),
        ReduceOp::Max | ReduceOp::ArgMax => acc.max(x),
        ReduceOp::Any => (acc != 0 || x != 0) as i128,
        ReduceOp::All => (acc != 0 && x != 0) as i128,
        ReduceOp::CountNonzero => acc + (x != 0) as i128,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_semantics_on_negatives() {
        assert_eq!(binary(BinaryOp::FloorDiv, DType::I16, -7, 2), -4);
        assert_eq!(binary(BinaryOp::Mod, DType::I16, -7, 2), 1);
        assert_eq!(binary(BinaryOp::Mod, DType::I16, 7, -2), -1);
        assert_eq!(binary(BinaryOp::FloorDiv, DType::I8, -128, -1), -128);
        assert_eq!(binary(BinaryOp::FloorDiv, DType::U8, 5, 0), 0);
    }

    #[test]
    fn shifts_as_numpy() {
        assert_eq!(binary(BinaryOp::Shr, DType::I16, -5, 1), -3);
        assert_eq!(binary(BinaryOp::Shr, DType::I16, -5, 40), -1);
        assert_eq!(binary(BinaryOp::Shl, DType::U8, 3, 7), 128);
        assert_eq!(binary(BinaryOp::Shl, DType::U8, 3, 8), 0);
        assert_eq!(binary(BinaryOp::Shl, DType::U64, 3, 63), 1i128 << 63);
    }

    #[test]
    fn unary_wraps() {
        assert_eq!(unary(UnaryOp::Neg, DType::U8, 1), 255);
        assert_eq!(unary(UnaryOp::Abs, DType::I8, -128), -128);
        assert_eq!(unary(UnaryOp::Not, DType::U8, 0), 255);
        assert_eq!(unary(UnaryOp::Not, DType::Bool, 0), 1);
        assert_eq!(binary(BinaryOp::Mul, DType::U8, 200, 3), 88);
    }
}
