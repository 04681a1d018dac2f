//! The array-op IR: data structures.

use crate::types::{DType, Interval, Type};
use cranelift_entity::{entity_impl, PrimaryMap};
use hissc_diagnostics::Span;

/// A value defined by one instruction (`v0`, `v1`, ...).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(u32);
entity_impl!(Value, "v");

/// A kernel parameter: an input stream (array) or a run-time register (scalar).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// The Python name.
    pub name: String,
    /// numpy dtype and static shape (empty for scalar registers).
    pub ty: Type,
    /// The promise of a range type (`u12` is `[0, 4095]`); the dtype's range otherwise.
    pub range: Interval,
    /// Where the parameter is declared.
    pub span: Span,
}

impl Param {
    /// Is this an array input (a stream), rather than a scalar register?
    pub fn is_stream(&self) -> bool {
        !self.ty.is_scalar()
    }
}

/// Elementwise unary operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-a` (wraps for unsigned, as numpy).
    Neg,
    /// `~a` (logical not on bool).
    Not,
    /// `abs(a)` (`abs(int8(-128)) == -128`, as numpy).
    Abs,
}

/// Elementwise binary operations; both operands have the result's dtype.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `//` (floor; `x // 0 == 0` as numpy)
    FloorDiv,
    /// `%` (floor modulo; `x % 0 == 0` as numpy)
    Mod,
    /// `&`
    And,
    /// `|`
    Or,
    /// `^`
    Xor,
    /// `<<` (0 when shifting by the width or more)
    Shl,
    /// `>>` (arithmetic on signed dtypes)
    Shr,
    /// `np.minimum`
    Min,
    /// `np.maximum`
    Max,
}

/// Elementwise comparisons; operands may have different dtypes, the comparison is exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// Reductions over some axes (all axes when the list is empty).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// `sum` (in the result dtype, wrapping as numpy)
    Sum,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `any` (bool)
    Any,
    /// `all` (bool)
    All,
    /// `np.count_nonzero` (int64)
    CountNonzero,
    /// `np.argmax`: the first index of the largest element (int64)
    ArgMax,
    /// `np.argmin`: the first index of the smallest element (int64)
    ArgMin,
}

/// One instruction. Every instruction defines exactly one value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Inst {
    /// The value of parameter number `.0`.
    Input(u32),
    /// The value state number `.0` had when the frame began (v2 `State[T, ...]`).
    State(u32),
    /// A scalar constant of the result dtype.
    Const(i128),
    /// Elementwise unary op.
    Unary(UnaryOp, Value),
    /// Elementwise binary op; operands of the result dtype, same shape or 0-d.
    Binary(BinaryOp, Value, Value),
    /// Elementwise comparison, result `bool`.
    Compare(CmpOp, Value, Value),
    /// `np.where(c, a, b)`; `a` and `b` of the result dtype.
    Where(Value, Value, Value),
    /// Elementwise conversion to the result dtype (wrapping, as `astype`).
    Cast(Value),
    /// Repeats a value to the result shape (numpy broadcasting rules).
    Broadcast(Value),
    /// Reduction over `axes` (empty: every axis; `argmax`/`argmin` take at most one).
    Reduce(ReduceOp, Value, Vec<u32>),
    /// The same elements in C order with the result's shape (`reshape`, `ravel`).
    Reshape(Value),
    /// A basic slice: per axis `(start, step, count)`, steps positive.
    Slice(Value, Vec<(u32, u32, u32)>),
    /// A constant 1-D table (a module-level `np.array`).
    Table(Vec<i128>),
    /// The flat (C order) index of every element of the result's shape.
    Iota,
    /// `np.concatenate` along axis `.1` of operands of the result's dtype and
    /// rank, equal in every other axis (`np.stack` concatenates reshaped ones).
    Concat(Vec<Value>, u32),
    /// The elements of `.0` where the bool array `.1` (of `.0`'s shape) is true,
    /// in C order: a 1-D output of run-time length (v2 `Vec[T, N]`); only
    /// outputs read it. Its type's shape is the most it can hold.
    Compress(Value, Value),
    /// `table[index]`: elements of a table, indices proven in range.
    Gather(Value, Value),
    /// `np.cumsum`: running sums in C order, flattened, in the result dtype.
    Scan(Value),
    /// `np.bincount(x, weights=w, minlength=bins)` counting only where `mask` is
    /// true; `x` proven in `[0, bins)`. int64 counts, or float64 sums of weights.
    Bincount(Value, Option<Value>, Option<Value>, u32),
}

impl Inst {
    /// The same instruction reading `f(v)` for every value `v` it reads.
    pub fn map_args(&self, mut f: impl FnMut(Value) -> Value) -> Inst {
        match self {
            Inst::Input(_) | Inst::State(_) | Inst::Const(_) | Inst::Table(_) | Inst::Iota => {
                self.clone()
            }
            Inst::Compress(a, m) => Inst::Compress(f(*a), f(*m)),
            Inst::Concat(vs, axis) => Inst::Concat(vs.iter().map(|v| f(*v)).collect(), *axis),
            Inst::Unary(op, a) => Inst::Unary(*op, f(*a)),
            Inst::Cast(a) => Inst::Cast(f(*a)),
            Inst::Broadcast(a) => Inst::Broadcast(f(*a)),
            Inst::Reduce(op, a, axes) => Inst::Reduce(*op, f(*a), axes.clone()),
            Inst::Reshape(a) => Inst::Reshape(f(*a)),
            Inst::Slice(a, sel) => Inst::Slice(f(*a), sel.clone()),
            Inst::Scan(a) => Inst::Scan(f(*a)),
            Inst::Gather(t, i) => Inst::Gather(f(*t), f(*i)),
            Inst::Bincount(x, w, m, bins) => {
                Inst::Bincount(f(*x), w.map(&mut f), m.map(&mut f), *bins)
            }
            Inst::Binary(op, a, b) => Inst::Binary(*op, f(*a), f(*b)),
            Inst::Compare(op, a, b) => Inst::Compare(*op, f(*a), f(*b)),
            Inst::Where(c, a, b) => Inst::Where(f(*c), f(*a), f(*b)),
        }
    }

    /// Is each element of the result a function of the operands' elements at
    /// the same index (`unary`, `binary`, comparisons, `where`, `cast`)?
    pub fn is_elementwise(&self) -> bool {
        matches!(
            self,
            Inst::Unary(..)
                | Inst::Binary(..)
                | Inst::Compare(..)
                | Inst::Where(..)
                | Inst::Cast(..)
        )
    }

    /// The values this instruction reads.
    pub fn args(&self) -> Vec<Value> {
        match self {
            Inst::Input(_) | Inst::State(_) | Inst::Const(_) | Inst::Table(_) | Inst::Iota => {
                vec![]
            }
            Inst::Compress(a, m) => vec![*a, *m],
            Inst::Concat(vs, _) => vs.clone(),
            Inst::Unary(_, a)
            | Inst::Cast(a)
            | Inst::Broadcast(a)
            | Inst::Reduce(_, a, _)
            | Inst::Reshape(a)
            | Inst::Slice(a, _)
            | Inst::Scan(a) => vec![*a],
            Inst::Gather(t, i) => vec![*t, *i],
            Inst::Bincount(x, w, m, _) => std::iter::once(*x).chain(*w).chain(*m).collect(),
            Inst::Binary(_, a, b) | Inst::Compare(_, a, b) => vec![*a, *b],
            Inst::Where(c, a, b) => vec![*c, *a, *b],
        }
    }
}

/// An instruction with its result type and source span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstData {
    /// What it computes.
    pub inst: Inst,
    /// The type of the value it defines.
    pub ty: Type,
    /// The Python expression it comes from.
    pub span: Span,
}

/// One kernel: parameters, instructions in definition order, outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kernel {
    /// The Python function name.
    pub name: String,
    /// Parameters in signature order.
    pub params: Vec<Param>,
    /// Instructions; a value is defined before it is used.
    pub insts: PrimaryMap<Value, InstData>,
    /// Returned values, in order (several for a `tuple[...]`).
    pub outputs: Vec<Value>,
    /// State kept from one frame to the next (`State[T, ...]` parameters), in
    /// signature order: name, dtype, shape and span; the range is the dtype's.
    pub states: Vec<Param>,
    /// For each state, the value it holds after the frame (`NAME[...] = EXPR`).
    pub updates: Vec<Value>,
}

impl Kernel {
    /// An empty kernel.
    pub fn new(name: impl Into<String>) -> Self {
        Kernel {
            name: name.into(),
            params: Vec::new(),
            insts: PrimaryMap::new(),
            outputs: Vec::new(),
            states: Vec::new(),
            updates: Vec::new(),
        }
    }

    /// Appends an instruction.
    pub fn push(&mut self, inst: Inst, ty: Type, span: Span) -> Value {
        self.insts.push(InstData { inst, ty, span })
    }

    /// The type of a value.
    pub fn ty(&self, v: Value) -> &Type {
        &self.insts[v].ty
    }

    /// The values the frame leaves behind: the outputs, then the state updates.
    pub fn roots(&self) -> impl Iterator<Item = Value> + '_ {
        self.outputs.iter().chain(&self.updates).copied()
    }

    /// The dtype of a value.
    pub fn dtype(&self, v: Value) -> DType {
        self.insts[v].ty.dtype
    }
}
