//! The loops: one operation over a chunk of elements, monomorphised per dtype.
//!
//! Every value is held as `i64` lanes: a signed dtype sign-extended, an
//! unsigned one zero-extended, `uint64` (and a bin count's `float64`) as its
//! 64 bits. Each result is wrapped to its dtype ([`Dt::wrap`]) as numpy wraps,
//! so the lanes always hold exactly what the reference interpreter's exact
//! integers hold, and the loops are straight `i64` arithmetic the compiler
//! vectorises. Only `uint64` needs unsigned order, division and shifts.

use hissc_aop::{BinaryOp, CmpOp, DType, UnaryOp};

/// A dtype as the loops see it.
pub(crate) trait Dt {
    /// Width in bits (1 for bool).
    const BITS: u32;
    /// Two's complement?
    const SIGNED: bool;
    /// `uint64`: order, division and right shifts are unsigned.
    const U64: bool = !Self::SIGNED && Self::BITS == 64;
    /// `x` wrapped to the dtype, as numpy's `astype` does.
    fn wrap(x: i64) -> i64;
}

/// `np.bool_`.
pub(crate) struct Bool;
/// An unsigned dtype of `B` bits.
pub(crate) struct U<const B: u32>;
/// A signed dtype of `B` bits.
pub(crate) struct S<const B: u32>;

impl Dt for Bool {
    const BITS: u32 = 1;
    const SIGNED: bool = false;
    #[inline(always)]
    fn wrap(x: i64) -> i64 {
        (x != 0) as i64
    }
}

impl<const B: u32> Dt for U<B> {
    const BITS: u32 = B;
    const SIGNED: bool = false;
    #[inline(always)]
    fn wrap(x: i64) -> i64 {
        if B == 64 {
            x
        } else {
            x & ((1i64 << B) - 1)
        }
    }
}

impl<const B: u32> Dt for S<B> {
    const BITS: u32 = B;
    const SIGNED: bool = true;
    #[inline(always)]
    fn wrap(x: i64) -> i64 {
        if B == 64 {
            x
        } else {
            (x << (64 - B)) >> (64 - B)
        }
    }
}

/// Calls `$f::<T>($args)` with `T` the loops' type of dtype `$d`.
macro_rules! by_dtype {
    ($d:expr, $f:ident ( $($a:expr),* )) => {
        match $d {
            DType::Bool => $f::<$crate::ops::Bool>($($a),*),
            DType::U8 => $f::<$crate::ops::U<8>>($($a),*),
            DType::U16 => $f::<$crate::ops::U<16>>($($a),*),
            DType::U32 => $f::<$crate::ops::U<32>>($($a),*),
            DType::U64 | DType::F64 => $f::<$crate::ops::U<64>>($($a),*),
            DType::I8 => $f::<$crate::ops::S<8>>($($a),*),
            DType::I16 => $f::<$crate::ops::S<16>>($($a),*),
            DType::I32 => $f::<$crate::ops::S<32>>($($a),*),
            DType::I64 => $f::<$crate::ops::S<64>>($($a),*),
        }
    };
}

/// The exact integer a lane of dtype `d` holds.
pub fn from_lane(d: DType, x: i64) -> i128 {
    match d {
        DType::U64 | DType::F64 => x as u64 as i128,
        _ => x as i128,
    }
}

/// Is `d` ordered as unsigned 64-bit lanes?
fn unsigned64(d: DType) -> bool {
    matches!(d, DType::U64 | DType::F64)
}

/// `o[i] = op a[i]` in dtype `d`.
pub(crate) fn unary(op: UnaryOp, d: DType, a: &[i64], o: &mut [i64]) {
    by_dtype!(d, unary_t(op, a, o))
}

fn unary_t<T: Dt>(op: UnaryOp, a: &[i64], o: &mut [i64]) {
    let it = o.iter_mut().zip(a);
    match op {
        UnaryOp::Neg => it.for_each(|(o, &x)| *o = T::wrap(x.wrapping_neg())),
        UnaryOp::Not if T::BITS == 1 => it.for_each(|(o, &x)| *o = (x == 0) as i64),
        UnaryOp::Not => it.for_each(|(o, &x)| *o = T::wrap(!x)),
        UnaryOp::Abs if T::SIGNED => it.for_each(|(o, &x)| *o = T::wrap(x.wrapping_abs())),
        UnaryOp::Abs => it.for_each(|(o, &x)| *o = x),
    }
}

/// `o[i] = a[i] op b[i]`, both operands and the result of dtype `d`.
pub(crate) fn binary(op: BinaryOp, d: DType, a: &[i64], b: &[i64], o: &mut [i64]) {
    by_dtype!(d, binary_t(op, a, b, o))
}

#[inline(always)]
fn each(a: &[i64], b: &[i64], o: &mut [i64], f: impl Fn(i64, i64) -> i64) {
    for ((o, &x), &y) in o.iter_mut().zip(a).zip(b) {
        *o = f(x, y);
    }
}

fn binary_t<T: Dt>(op: BinaryOp, a: &[i64], b: &[i64], o: &mut [i64]) {
    match op {
        BinaryOp::Add => each(a, b, o, |x, y| T::wrap(x.wrapping_add(y))),
        BinaryOp::Sub => each(a, b, o, |x, y| T::wrap(x.wrapping_sub(y))),
        BinaryOp::Mul => each(a, b, o, |x, y| T::wrap(x.wrapping_mul(y))),
        BinaryOp::And => each(a, b, o, |x, y| x & y),
        BinaryOp::Or => each(a, b, o, |x, y| x | y),
        BinaryOp::Xor => each(a, b, o, |x, y| x ^ y),
        BinaryOp::FloorDiv if T::U64 => each(a, b, o, |x, y| {
            if y == 0 {
                0
            } else {
                ((x as u64) / (y as u64)) as i64
            }
        }),
        BinaryOp::FloorDiv => each(a, b, o, |x, y| {
            if y == 0 {
                0
            } else {
                let q = x.wrapping_div(y);
                let q = if x.wrapping_rem(y) != 0 && ((x < 0) != (y < 0)) {
                    q - 1
                } else {
                    q
                };
                T::wrap(q)
            }
        }),
        BinaryOp::Mod if T::U64 => each(a, b, o, |x, y| {
            if y == 0 {
                0
            } else {
                ((x as u64) % (y as u64)) as i64
            }
        }),
        BinaryOp::Mod => each(a, b, o, |x, y| {
            if y == 0 {
                0
            } else {
                let r = x.wrapping_rem(y);
                T::wrap(if r != 0 && ((r < 0) != (y < 0)) {
                    r + y
                } else {
                    r
                })
            }
        }),
        BinaryOp::Shl => each(a, b, o, |x, y| {
            if (y as u64) >= T::BITS as u64 {
                0
            } else {
                T::wrap(x.wrapping_shl(y as u32))
            }
        }),
        BinaryOp::Shr if T::U64 => each(a, b, o, |x, y| {
            if (y as u64) >= 64 {
                0
            } else {
                ((x as u64) >> y) as i64
            }
        }),
        BinaryOp::Shr => each(a, b, o, |x, y| {
            // a negative count (signed dtypes) or the width and more: the sign
            if (y as u64) >= T::BITS as u64 {
                if x < 0 {
                    -1
                } else {
                    0
                }
            } else {
                x >> y
            }
        }),
        BinaryOp::Min if T::U64 => each(a, b, o, |x, y| (x as u64).min(y as u64) as i64),
        BinaryOp::Max if T::U64 => each(a, b, o, |x, y| (x as u64).max(y as u64) as i64),
        BinaryOp::Min => each(a, b, o, |x, y| x.min(y)),
        BinaryOp::Max => each(a, b, o, |x, y| x.max(y)),
    }
}

#[inline(always)]
fn cmp_each<K: Ord>(
    op: CmpOp,
    a: &[i64],
    b: &[i64],
    o: &mut [i64],
    ka: impl Fn(i64) -> K,
    kb: impl Fn(i64) -> K,
) {
    // one loop per comparison, so each is a straight vector compare
    match op {
        CmpOp::Eq => each(a, b, o, |x, y| (ka(x) == kb(y)) as i64),
        CmpOp::Ne => each(a, b, o, |x, y| (ka(x) != kb(y)) as i64),
        CmpOp::Lt => each(a, b, o, |x, y| (ka(x) < kb(y)) as i64),
        CmpOp::Le => each(a, b, o, |x, y| (ka(x) <= kb(y)) as i64),
        CmpOp::Gt => each(a, b, o, |x, y| (ka(x) > kb(y)) as i64),
        CmpOp::Ge => each(a, b, o, |x, y| (ka(x) >= kb(y)) as i64),
    }
}

/// `o[i] = a[i] op b[i]` exactly, `a` of dtype `da` and `b` of `db`.
pub(crate) fn compare(op: CmpOp, da: DType, db: DType, a: &[i64], b: &[i64], o: &mut [i64]) {
    match (unsigned64(da), unsigned64(db)) {
        (false, false) => cmp_each(op, a, b, o, |x| x, |y| y),
        (true, true) => cmp_each(op, a, b, o, |x| x as u64, |y| y as u64),
        // uint64 against another dtype: compared as exact integers
        (true, false) => cmp_each(op, a, b, o, |x| x as u64 as i128, |y| y as i128),
        (false, true) => cmp_each(op, a, b, o, |x| x as i128, |y| y as u64 as i128),
    }
}

/// `o[i] = c[i] ? a[i] : b[i]`.
pub(crate) fn select(c: &[i64], a: &[i64], b: &[i64], o: &mut [i64]) {
    // a mask of no bits or every bit: the choice is arithmetic, which
    // vectorises where a branch or cmov does not
    for (((o, &c), &x), &y) in o.iter_mut().zip(c).zip(a).zip(b) {
        let m = -((c != 0) as i64);
        *o = (x & m) | (y & !m);
    }
}

/// `o[i] = a[i]` converted to dtype `d` (wrapping, as `astype`).
pub(crate) fn cast(d: DType, a: &[i64], o: &mut [i64]) {
    by_dtype!(d, cast_t(a, o))
}

fn cast_t<T: Dt>(a: &[i64], o: &mut [i64]) {
    for (o, &x) in o.iter_mut().zip(a) {
        *o = T::wrap(x);
    }
}

/// `o[i] = table[idx[i]]` (indices proven in range).
pub(crate) fn gather(table: &[i64], idx: &[i64], o: &mut [i64]) {
    for (o, &i) in o.iter_mut().zip(idx) {
        *o = table[i as usize];
    }
}

/// The start of a reduction of elements of dtype `arg`, as lanes.
pub(crate) fn identity(op: hissc_aop::ReduceOp, arg: DType) -> i64 {
    hissc_aop::semantics::reduce_identity(op, arg) as i64
}

/// Folds `x` into `acc`: a reduction into result dtype `d` of elements of
/// dtype `arg` (sum, min, max, any, all, count_nonzero).
pub(crate) fn fold(op: hissc_aop::ReduceOp, d: DType, arg: DType, acc: i64, x: &[i64]) -> i64 {
    use hissc_aop::ReduceOp as R;
    match op {
        R::Sum if d != DType::Bool => {
            // wrapping is a ring homomorphism: wrap once at the end
            let s = x.iter().fold(0i64, |s, &v| s.wrapping_add(v));
            by_dtype!(d, wrap_t(acc.wrapping_add(s)))
        }
        R::Sum | R::Any => (acc != 0 || x.iter().any(|&v| v != 0)) as i64,
        R::All => (acc != 0 && x.iter().all(|&v| v != 0)) as i64,
        R::CountNonzero => acc + x.iter().map(|&v| (v != 0) as i64).sum::<i64>(),
        R::Min if unsigned64(arg) => x.iter().fold(acc as u64, |m, &v| m.min(v as u64)) as i64,
        R::Max if unsigned64(arg) => x.iter().fold(acc as u64, |m, &v| m.max(v as u64)) as i64,
        R::Min => x.iter().fold(acc, |m, &v| m.min(v)),
        R::Max => x.iter().fold(acc, |m, &v| m.max(v)),
        R::ArgMax | R::ArgMin => unreachable!("argmax and argmin are not folds"),
    }
}

/// Folds `x[i]` into `acc[i]` for every `i` (a reduction whose innermost axis is kept).
pub(crate) fn fold_each(op: hissc_aop::ReduceOp, d: DType, arg: DType, acc: &mut [i64], x: &[i64]) {
    for (a, &v) in acc.iter_mut().zip(x) {
        *a = fold(op, d, arg, *a, std::slice::from_ref(&v));
    }
}

fn wrap_t<T: Dt>(x: i64) -> i64 {
    T::wrap(x)
}

/// Lanes of `n` little-endian elements of dtype `d` starting at element
/// `first`, every `stride` elements, from `bytes`.
pub(crate) fn decode(d: DType, bytes: &[u8], first: usize, stride: isize, o: &mut [i64]) {
    macro_rules! load {
        ($t:ty, $w:expr) => {{
            const W: usize = $w;
            if stride == 1 {
                let src = &bytes[first * W..(first + o.len()) * W];
                for (o, c) in o.iter_mut().zip(src.chunks_exact(W)) {
                    *o = <$t>::from_le_bytes(c.try_into().expect("W bytes")) as i64;
                }
            } else {
                let mut at = first as isize;
                for o in o.iter_mut() {
                    let i = at as usize * W;
                    *o = <$t>::from_le_bytes(bytes[i..i + W].try_into().expect("W bytes")) as i64;
                    at += stride;
                }
            }
        }};
    }
    match d {
        DType::Bool | DType::U8 => load!(u8, 1),
        DType::I8 => load!(i8, 1),
        DType::U16 => load!(u16, 2),
        DType::I16 => load!(i16, 2),
        DType::U32 => load!(u32, 4),
        DType::I32 => load!(i32, 4),
        DType::U64 | DType::F64 => load!(u64, 8),
        DType::I64 => load!(i64, 8),
    }
}

/// Appends lanes of dtype `d` to `out` as little-endian `.npy` elements.
pub fn encode(d: DType, lanes: &[i64], out: &mut Vec<u8>) {
    macro_rules! put {
        ($t:ty) => {{
            const W: usize = std::mem::size_of::<$t>();
            let start = out.len();
            out.resize(start + lanes.len() * W, 0);
            for (c, &x) in out[start..].chunks_exact_mut(W).zip(lanes) {
                c.copy_from_slice(&(x as $t).to_le_bytes());
            }
        }};
    }
    match d {
        DType::Bool | DType::U8 => put!(u8),
        DType::I8 => put!(i8),
        DType::U16 => put!(u16),
        DType::I16 => put!(i16),
        DType::U32 => put!(u32),
        DType::I32 => put!(i32),
        DType::U64 | DType::F64 | DType::I64 => put!(u64),
    }
}

/// `x` wrapped to dtype `d`.
pub(crate) fn wrap(d: DType, x: i64) -> i64 {
    by_dtype!(d, wrap_t(x))
}
