//! The names a kernel may call: numpy functions, array methods and builtins.

/// numpy functions in the kernel language (`np.NAME`).
pub const NP_FUNCTIONS: &[&str] = &[
    "where",
    "minimum",
    "maximum",
    "clip",
    "abs",
    "absolute",
    "sum",
    "min",
    "max",
    "amin",
    "amax",
    "any",
    "all",
    "count_nonzero",
    "argmax",
    "argmin",
    "cumsum",
    "bincount",
    "histogram",
    "logical_and",
    "logical_or",
    "logical_not",
    "logical_xor",
    "array",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "invert",
    "left_shift",
    "right_shift",
    "reshape",
    "ravel",
];

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

/// Array methods in the kernel language (`a.NAME(...)`).
pub const METHODS: &[&str] = &[
    "sum", "min", "max", "any", "all", "astype", "reshape", "ravel", "argmax", "argmin", "cumsum",
];

/// Python builtins a kernel may call.
pub const BUILTINS: &[&str] = &["abs", "range", "int", "bool", "len"];
