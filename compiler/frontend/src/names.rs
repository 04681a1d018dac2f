//! The names a kernel may call: numpy functions, array methods and builtins.

use hissc_aop::{BinaryOp, ReduceOp};

/// How a numpy function or an array method lowers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lowering {
    /// `np.where(c, a, b)`.
    Where,
    /// `np.minimum`, `np.maximum`: an elementwise binary op, numpy's result.
    Extremum(BinaryOp),
    /// `np.clip(a, lo, hi)` (either bound may be `None`).
    Clip,
    /// `np.abs`.
    Abs,
    /// A reduction with `axis=` (and `dtype=` for sums, `keepdims=`).
    Reduce(ReduceOp),
    /// `np.logical_and/or/xor`: both operands as booleans.
    Logical(BinaryOp),
    /// `np.logical_not`.
    LogicalNot,
    /// `np.bitwise_*`, `np.left_shift`, `np.right_shift`: the operator's meaning.
    Bitwise(BinaryOp),
    /// `np.invert`: `~`.
    Invert,
    /// `np.array([...], dtype=...)`: a constant table (module level).
    Table,
    /// `np.cumsum`.
    Cumsum,
    /// `reshape` to a static shape.
    Reshape,
    /// `ravel`: a view of a C-contiguous array, a copy otherwise.
    Ravel,
    /// `flatten`: a flat copy.
    Flatten,
    /// `copy`: a new array with the same elements.
    Copy,
    /// `np.bincount(x, weights=, minlength=)`.
    Bincount,
    /// `np.histogram(a, bins=, range=)`.
    Histogram,
    /// `.astype(dtype)`.
    Astype,
    /// `np.flatnonzero(a)`: the flat indices of the nonzero elements (a `Vec`).
    Flatnonzero,
    /// `np.arange(...)`: int64 coordinates.
    Arange,
    /// `np.indices(shape)`: int64 coordinates per axis.
    Indices,
    /// `np.concatenate(seq, axis=)`.
    Concatenate,
    /// `np.stack(seq, axis=)`.
    Stack,
}

/// A numpy function (`np.NAME(...)`) or array method (`a.NAME(...)`) of the
/// kernel language: the one table the subset rules, the lowering and the docs'
/// list read (a test checks that docs/language.md names every entry).
#[derive(Clone, Copy, Debug)]
pub struct Function {
    /// The name after `np.` or the dot.
    pub name: &'static str,
    /// How it lowers.
    pub lowering: Lowering,
    /// Fewest positional arguments (for a method, not counting the array).
    pub min: usize,
    /// Most positional arguments.
    pub max: usize,
    /// The keywords it takes.
    pub keywords: &'static [&'static str],
}

const fn f(
    name: &'static str,
    lowering: Lowering,
    min: usize,
    max: usize,
    keywords: &'static [&'static str],
) -> Function {
    Function {
        name,
        lowering,
        min,
        max,
        keywords,
    }
}

const SUM_KW: &[&str] = &["axis", "dtype", "keepdims"];
const REDUCE_KW: &[&str] = &["axis", "keepdims"];

/// numpy functions in the kernel language (`np.NAME`).
pub const NP_FUNCTIONS: &[Function] = &[
    f("where", Lowering::Where, 3, 3, &[]),
    f("flatnonzero", Lowering::Flatnonzero, 1, 1, &[]),
    f("arange", Lowering::Arange, 1, 3, &[]),
    f("indices", Lowering::Indices, 1, 1, &[]),
    f("concatenate", Lowering::Concatenate, 1, 2, &["axis"]),
    f("stack", Lowering::Stack, 1, 2, &["axis"]),
    f("minimum", Lowering::Extremum(BinaryOp::Min), 2, 2, &[]),
    f("maximum", Lowering::Extremum(BinaryOp::Max), 2, 2, &[]),
    f("clip", Lowering::Clip, 3, 3, &[]),
    f("abs", Lowering::Abs, 1, 1, &[]),
    f("absolute", Lowering::Abs, 1, 1, &[]),
    f("sum", Lowering::Reduce(ReduceOp::Sum), 1, 2, SUM_KW),
    f("min", Lowering::Reduce(ReduceOp::Min), 1, 2, REDUCE_KW),
    f("max", Lowering::Reduce(ReduceOp::Max), 1, 2, REDUCE_KW),
    f("amin", Lowering::Reduce(ReduceOp::Min), 1, 2, REDUCE_KW),
    f("amax", Lowering::Reduce(ReduceOp::Max), 1, 2, REDUCE_KW),
    f("any", Lowering::Reduce(ReduceOp::Any), 1, 2, REDUCE_KW),
    f("all", Lowering::Reduce(ReduceOp::All), 1, 2, REDUCE_KW),
    f(
        "count_nonzero",
        Lowering::Reduce(ReduceOp::CountNonzero),
        1,
        2,
        REDUCE_KW,
    ),
    f(
        "argmax",
        Lowering::Reduce(ReduceOp::ArgMax),
        1,
        2,
        REDUCE_KW,
    ),
    f(
        "argmin",
        Lowering::Reduce(ReduceOp::ArgMin),
        1,
        2,
        REDUCE_KW,
    ),
    f("cumsum", Lowering::Cumsum, 1, 2, &["axis"]),
    f(
        "bincount",
        Lowering::Bincount,
        1,
        3,
        &["weights", "minlength"],
    ),
    f("histogram", Lowering::Histogram, 1, 3, &["bins", "range"]),
    f("logical_and", Lowering::Logical(BinaryOp::And), 2, 2, &[]),
    f("logical_or", Lowering::Logical(BinaryOp::Or), 2, 2, &[]),
    f("logical_xor", Lowering::Logical(BinaryOp::Xor), 2, 2, &[]),
    f("logical_not", Lowering::LogicalNot, 1, 1, &[]),
    f("array", Lowering::Table, 1, 1, &["dtype"]),
    f("bitwise_and", Lowering::Bitwise(BinaryOp::And), 2, 2, &[]),
    f("bitwise_or", Lowering::Bitwise(BinaryOp::Or), 2, 2, &[]),
    f("bitwise_xor", Lowering::Bitwise(BinaryOp::Xor), 2, 2, &[]),
    f("invert", Lowering::Invert, 1, 1, &[]),
    f("left_shift", Lowering::Bitwise(BinaryOp::Shl), 2, 2, &[]),
    f("right_shift", Lowering::Bitwise(BinaryOp::Shr), 2, 2, &[]),
    f("reshape", Lowering::Reshape, 2, 2, &[]),
    f("ravel", Lowering::Ravel, 1, 1, &[]),
    f("copy", Lowering::Copy, 1, 1, &[]),
    f("add", Lowering::Bitwise(BinaryOp::Add), 2, 2, &[]),
    f("subtract", Lowering::Bitwise(BinaryOp::Sub), 2, 2, &[]),
    f("multiply", Lowering::Bitwise(BinaryOp::Mul), 2, 2, &[]),
];

/// Array methods in the kernel language (`a.NAME(...)`), with the same lowerings
/// as the functions of the same name.
pub const METHODS: &[Function] = &[
    f("sum", Lowering::Reduce(ReduceOp::Sum), 0, 1, SUM_KW),
    f("min", Lowering::Reduce(ReduceOp::Min), 0, 1, REDUCE_KW),
    f("max", Lowering::Reduce(ReduceOp::Max), 0, 1, REDUCE_KW),
    f("any", Lowering::Reduce(ReduceOp::Any), 0, 1, REDUCE_KW),
    f("all", Lowering::Reduce(ReduceOp::All), 0, 1, REDUCE_KW),
    f(
        "argmax",
        Lowering::Reduce(ReduceOp::ArgMax),
        0,
        1,
        REDUCE_KW,
    ),
    f(
        "argmin",
        Lowering::Reduce(ReduceOp::ArgMin),
        0,
        1,
        REDUCE_KW,
    ),
    f("cumsum", Lowering::Cumsum, 0, 1, &["axis"]),
    f("astype", Lowering::Astype, 1, 1, &[]),
    f("reshape", Lowering::Reshape, 1, 4, &[]),
    f("ravel", Lowering::Ravel, 0, 0, &[]),
    f("flatten", Lowering::Flatten, 0, 0, &[]),
    f("copy", Lowering::Copy, 0, 0, &[]),
];

/// The numpy function `np.name`, if the language has it.
pub fn np_function(name: &str) -> Option<&'static Function> {
    NP_FUNCTIONS.iter().find(|f| f.name == name)
}

/// The array method `.name()`, if the language has it.
pub fn method(name: &str) -> Option<&'static Function> {
    METHODS.iter().find(|f| f.name == name)
}

/// numpy dtype names usable as `np.NAME` (types and casts).
pub const NP_DTYPES: &[&str] = &[
    "bool_", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
];

/// numpy values that are not functions or dtypes (`np.newaxis` is `None`).
pub const NP_VALUES: &[&str] = &["newaxis"];

/// numpy names that only exist with floating point (rejected with HS0301).
pub const NP_FLOAT: &[&str] = &[
    "mean",
    "average",
    "float16",
    "float32",
    "float64",
    "double",
    "single",
    "true_divide",
    "divide",
    "sqrt",
    "exp",
    "log",
    "std",
    "var",
    "median",
    "floor",
    "ceil",
    "round",
    "rint",
];

/// Python builtins a kernel may call.
pub const BUILTINS: &[&str] = &["abs", "range", "int", "bool", "len", "enumerate", "zip"];

#[cfg(test)]
mod tests {
    use super::*;

    /// The user's list of functions and methods is this table's.
    #[test]
    fn the_docs_name_every_function_and_method() {
        let docs = include_str!("../../../docs/language.md");
        for f in NP_FUNCTIONS {
            assert!(docs.contains(&format!("`np.{}`", f.name)), "np.{}", f.name);
        }
        for m in METHODS {
            assert!(docs.contains(&format!("`.{}()`", m.name)), ".{}()", m.name);
        }
    }

    #[test]
    fn methods_lower_as_their_functions() {
        for m in METHODS {
            if let Some(f) = np_function(m.name) {
                assert_eq!(f.lowering, m.lowering, "{}", m.name);
                assert_eq!(f.keywords, m.keywords, "{}", m.name);
            }
        }
    }
}
