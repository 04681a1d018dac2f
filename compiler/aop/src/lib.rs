//! The array-op IR (AOP) of hissc: whole-array operations on typed, shaped values.
//!
//! Like Bohrium's bytecode, an AOP kernel is a straight-line list of instructions,
//! each producing one array value (`v0`, `v1`, ...) of a static shape and a numpy
//! dtype from earlier values. Control flow is gone by the time a kernel reaches
//! this IR: the frontend inlined helpers, unrolled loops and turned branches on
//! scalars into selects. What remains are elementwise operations (operands of the
//! result's shape or 0-d), explicit broadcasts, casts and reductions.
//!
//! Meaning: a kernel is a function of one frame of its parameters. Its values are
//! exactly what numpy 2 computes: integers wrap at their dtype's width, `//` and `%`
//! floor, comparisons are exact. [`semantics`] holds the scalar rules, [`interp`]
//! runs a kernel on concrete arrays, [`verify`] checks the invariants, [`print`]
//! and [`parse`] give the text form (print, parse, print is the identity) and
//! [`passes`] hold analyses such as [`passes::ranges`].

pub mod array;
pub mod interp;
pub mod ir;
pub mod limits;
pub mod parse;
pub mod passes;
pub mod print;
pub mod semantics;
pub mod types;
pub mod verify;

pub use array::{bind, bind_headers, bind_params, check_promise, Array, Bound, Header, Layout};
pub use ir::{BinaryOp, CmpOp, Inst, InstData, Kernel, Param, ReduceOp, UnaryOp, Value};
pub use types::{DType, Interval, Shape, Type};
