//! Element types (numpy dtypes), shapes and numpy 2 (NEP 50) promotion.

use std::fmt;

/// A numpy dtype that hissc can compute with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// `np.bool_`.
    Bool,
    /// `np.uint8`.
    U8,
    /// `np.uint16`.
    U16,
    /// `np.uint32`.
    U32,
    /// `np.uint64`.
    U64,
    /// `np.int8`.
    I8,
    /// `np.int16`.
    I16,
    /// `np.int32`.
    I32,
    /// `np.int64`.
    I64,
    /// `np.float64`: only the result of a weighted `np.bincount`.
    F64,
}

impl DType {
    /// Every dtype.
    pub const ALL: [DType; 10] = [
        DType::Bool,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::F64,
    ];

    /// Every integer dtype (bool included).
    pub const INTEGERS: [DType; 9] = [
        DType::Bool,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
    ];

    /// Storage width in bits (bool is 1).
    #[inline]
    pub fn bits(self) -> u32 {
        match self {
            DType::Bool => 1,
            DType::U8 | DType::I8 => 8,
            DType::U16 | DType::I16 => 16,
            DType::U32 | DType::I32 => 32,
            DType::U64 | DType::I64 | DType::F64 => 64,
        }
    }

    /// Bytes per element in a `.npy` file.
    pub fn bytes(self) -> usize {
        (self.bits() as usize).div_ceil(8)
    }

    /// Signed integer dtypes.
    pub fn is_signed(self) -> bool {
        matches!(self, DType::I8 | DType::I16 | DType::I32 | DType::I64)
    }

    /// Not float.
    pub fn is_integer(self) -> bool {
        self != DType::F64
    }

    /// Smallest value.
    pub fn min(self) -> i128 {
        if self.is_signed() {
            -(1i128 << (self.bits() - 1))
        } else {
            0
        }
    }

    /// Largest value.
    pub fn max(self) -> i128 {
        if self.is_signed() {
            (1i128 << (self.bits() - 1)) - 1
        } else {
            (1i128 << self.bits()) - 1
        }
    }

    /// Does `v` fit without wrapping?
    pub fn holds(self, v: i128) -> bool {
        self.min() <= v && v <= self.max()
    }

    /// Wraps an exact integer to this dtype, two's complement, as numpy does.
    #[inline]
    pub fn wrap(self, v: i128) -> i128 {
        match self {
            DType::Bool => (v != 0) as i128,
            DType::F64 => v,
            _ => {
                let bits = self.bits();
                let m = v & ((1i128 << bits) - 1);
                if self.is_signed() && m >= 1i128 << (bits - 1) {
                    m - (1i128 << bits)
                } else {
                    m
                }
            }
        }
    }

    /// The short IR name (`u16`).
    pub fn ir_name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::U8 => "u8",
            DType::U16 => "u16",
            DType::U32 => "u32",
            DType::U64 => "u64",
            DType::I8 => "i8",
            DType::I16 => "i16",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::F64 => "f64",
        }
    }

    /// numpy's name (`uint16`).
    pub fn numpy_name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::F64 => "float64",
        }
    }

    /// Parses an IR name.
    pub fn from_ir_name(s: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.ir_name() == s)
    }

    /// Parses a numpy name (`uint16`, `bool_` and `bool`).
    pub fn from_numpy_name(s: &str) -> Option<DType> {
        if s == "bool_" {
            return Some(DType::Bool);
        }
        DType::ALL.into_iter().find(|d| d.numpy_name() == s)
    }

    /// The integer dtype of a given signedness and width.
    pub fn int(signed: bool, bits: u32) -> Option<DType> {
        Some(match (signed, bits) {
            (false, 8) => DType::U8,
            (false, 16) => DType::U16,
            (false, 32) => DType::U32,
            (false, 64) => DType::U64,
            (true, 8) => DType::I8,
            (true, 16) => DType::I16,
            (true, 32) => DType::I32,
            (true, 64) => DType::I64,
            _ => return None,
        })
    }

    /// numpy's promotion of two strong (dtype-carrying) operands.
    /// `None` where numpy would go to float64 (`uint64` with a signed type).
    pub fn promote(a: DType, b: DType) -> Option<DType> {
        use DType::*;
        if a == F64 || b == F64 {
            return Some(F64);
        }
        if a == Bool {
            return Some(b);
        }
        if b == Bool {
            return Some(a);
        }
        match (a.is_signed(), b.is_signed()) {
            (false, false) | (true, true) => Some(if a.bits() >= b.bits() { a } else { b }),
            (sa, _) => {
                let (u, s) = if sa { (b, a) } else { (a, b) };
                if s.bits() > u.bits() {
                    Some(s)
                } else {
                    DType::int(true, u.bits() * 2)
                }
            }
        }
    }

    /// The dtype of `.sum()` without `dtype=` (numpy: at least the platform int).
    pub fn sum_dtype(self) -> DType {
        match self {
            DType::Bool | DType::I8 | DType::I16 | DType::I32 | DType::I64 => DType::I64,
            DType::U8 | DType::U16 | DType::U32 | DType::U64 => DType::U64,
            DType::F64 => DType::F64,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ir_name())
    }
}

/// A static shape; `[]` is a 0-d (scalar) value.
pub type Shape = Vec<u32>;

/// Number of elements of a shape.
pub fn numel(shape: &[u32]) -> usize {
    // saturating: a verified kernel's arrays have at most `limits::MAX_ELEMENTS`
    shape
        .iter()
        .fold(1usize, |n, &d| n.saturating_mul(d as usize))
}

/// The type of an IR value: a dtype and a static shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Type {
    /// Element type.
    pub dtype: DType,
    /// Shape; empty for scalars.
    pub shape: Shape,
}

impl Type {
    /// A 0-d value.
    pub fn scalar(dtype: DType) -> Type {
        Type {
            dtype,
            shape: Vec::new(),
        }
    }

    /// An array value.
    pub fn array(dtype: DType, shape: Shape) -> Type {
        Type { dtype, shape }
    }

    /// True for 0-d values.
    pub fn is_scalar(&self) -> bool {
        self.shape.is_empty()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.dtype)?;
        if !self.shape.is_empty() {
            let dims: Vec<String> = self.shape.iter().map(|d| d.to_string()).collect();
            write!(f, "[{}]", dims.join(", "))?;
        }
        Ok(())
    }
}

/// A closed integer interval `[lo, hi]`: the values an element may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Interval {
    /// Smallest possible value.
    pub lo: i128,
    /// Largest possible value.
    pub hi: i128,
}

impl Interval {
    /// `[lo, hi]`.
    pub fn new(lo: i128, hi: i128) -> Self {
        debug_assert!(lo <= hi);
        Interval { lo, hi }
    }

    /// One value.
    pub fn point(v: i128) -> Self {
        Interval { lo: v, hi: v }
    }

    /// Every value of a dtype.
    pub fn of(d: DType) -> Self {
        Interval::new(d.min(), d.max())
    }

    /// The smallest interval holding both.
    pub fn union(self, o: Interval) -> Self {
        Interval::new(self.lo.min(o.lo), self.hi.max(o.hi))
    }

    /// Contained in `o`?
    pub fn within(self, o: Interval) -> bool {
        o.lo <= self.lo && self.hi <= o.hi
    }

    /// Bits of a port that carries every value, and whether it is signed:
    /// unsigned when no value is negative (a range type's `u12` is 12 bits),
    /// else two's complement ([`Interval::signed_bits`]).
    pub fn port_bits(self) -> (u32, bool) {
        if self.lo >= 0 {
            ((128 - self.hi.leading_zeros()).max(1), false)
        } else {
            (self.signed_bits(), true)
        }
    }

    /// Bits of a two's complement signed signal that holds every value (at least 1... 2 for signed).
    pub fn signed_bits(self) -> u32 {
        fn bits_for(v: i128) -> u32 {
            // bits of a signed representation of v
            if v >= 0 {
                129 - v.leading_zeros()
            } else {
                129 - (!v).leading_zeros()
            }
        }
        bits_for(self.lo).max(bits_for(self.hi)).max(1)
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", self.lo, self.hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numel_saturates() {
        assert_eq!(numel(&[100_000, 100_000]), 10_000_000_000);
        assert_eq!(numel(&[u32::MAX, u32::MAX, u32::MAX]), usize::MAX);
        assert_eq!(numel(&[]), 1);
    }

    #[test]
    fn promotion_matches_numpy() {
        use DType::*;
        assert_eq!(DType::promote(U16, I16), Some(I32));
        assert_eq!(DType::promote(U8, I8), Some(I16));
        assert_eq!(DType::promote(U8, I16), Some(I16));
        assert_eq!(DType::promote(U16, I8), Some(I32));
        assert_eq!(DType::promote(U64, I64), None);
        assert_eq!(DType::promote(Bool, U8), Some(U8));
        assert_eq!(DType::promote(U32, U8), Some(U32));
    }

    #[test]
    fn wrapping() {
        assert_eq!(DType::U8.wrap(256 + 3), 3);
        assert_eq!(DType::I8.wrap(128), -128);
        assert_eq!(DType::U64.wrap(-1), (1i128 << 64) - 1);
        assert_eq!(DType::I64.wrap(1i128 << 63), -(1i128 << 63));
    }

    #[test]
    fn widths() {
        assert_eq!(Interval::new(0, 1).signed_bits(), 2);
        assert_eq!(Interval::new(0, 65535).signed_bits(), 17);
        assert_eq!(Interval::new(-128, 127).signed_bits(), 8);
        assert_eq!(Interval::new(-1, 0).signed_bits(), 1);
        assert_eq!(Interval::point(0).signed_bits(), 1);
    }
}
