//! The text form of the array-op IR (the `--emit aop` output).
//!
//! ```text
//! kernel threshold_sum(frame: u16[32, 32] @64..96, t: u16 @98..110) {
//!   v0: u16[32, 32] = input frame
//!   v1: u16 = input t
//!   v2: bool[32, 32] = gt v0, v1 @200..209      ; kernel.py:8
//!   v3: u16 = const 0 @218..219                 ; kernel.py:8
//!   v4: u16[32, 32] = where v2, v0, v3 @191..220 ; kernel.py:8
//!   v5: u64 = reduce sum v4 @191..226           ; kernel.py:8
//!   return v5
//! }
//! ```
//!
//! Spans are byte ranges in the kernel file. With a source file the printer adds
//! `; file:line` comments, which the parser skips.

use crate::ir::{BinaryOp, CmpOp, Inst, Kernel, ReduceOp, UnaryOp};
use crate::types::Interval;
use hissc_diagnostics::{SourceFile, Span};
use std::fmt::Write;

impl UnaryOp {
    /// Every unary op.
    pub const ALL: [UnaryOp; 3] = [UnaryOp::Neg, UnaryOp::Not, UnaryOp::Abs];

    /// The IR mnemonic.
    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Not => "not",
            UnaryOp::Abs => "abs",
        }
    }
}

impl BinaryOp {
    /// Every binary op.
    pub const ALL: [BinaryOp; 12] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::FloorDiv,
        BinaryOp::Mod,
        BinaryOp::And,
        BinaryOp::Or,
        BinaryOp::Xor,
        BinaryOp::Shl,
        BinaryOp::Shr,
        BinaryOp::Min,
        BinaryOp::Max,
    ];

    /// The IR mnemonic.
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::FloorDiv => "floordiv",
            BinaryOp::Mod => "mod",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
            BinaryOp::Xor => "xor",
            BinaryOp::Shl => "shl",
            BinaryOp::Shr => "shr",
            BinaryOp::Min => "min",
            BinaryOp::Max => "max",
        }
    }
}

impl CmpOp {
    /// Every comparison.
    pub const ALL: [CmpOp; 6] = [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ];

    /// The IR mnemonic.
    pub fn name(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
        }
    }

    /// The comparison with its operands swapped: `a op b` is `b op.swapped() a`.
    pub fn swapped(self) -> CmpOp {
        match self {
            CmpOp::Eq => CmpOp::Eq,
            CmpOp::Ne => CmpOp::Ne,
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
        }
    }

    /// Applies the comparison to exact values.
    #[inline]
    pub fn eval(self, a: i128, b: i128) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }
}

impl ReduceOp {
    /// Every reduction.
    pub const ALL: [ReduceOp; 8] = [
        ReduceOp::Sum,
        ReduceOp::Min,
        ReduceOp::Max,
        ReduceOp::Any,
        ReduceOp::All,
        ReduceOp::CountNonzero,
        ReduceOp::ArgMax,
        ReduceOp::ArgMin,
    ];

    /// The IR mnemonic.
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Min => "min",
            ReduceOp::Max => "max",
            ReduceOp::Any => "any",
            ReduceOp::All => "all",
            ReduceOp::CountNonzero => "count_nonzero",
            ReduceOp::ArgMax => "argmax",
            ReduceOp::ArgMin => "argmin",
        }
    }
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    let v: Vec<String> = items.iter().map(|x| x.to_string()).collect();
    format!("[{}]", v.join(", "))
}

fn span_text(span: Span) -> String {
    if span.is_none() {
        String::new()
    } else {
        format!(" @{}..{}", span.start, span.end)
    }
}

/// Prints a kernel; with `source`, each line that has a span gets a `; file:line` comment.
pub fn print(k: &Kernel, source: Option<&SourceFile>) -> String {
    let mut out = String::new();
    let params: Vec<String> = k
        .params
        .iter()
        .map(|p| {
            let range = if p.range == Interval::of(p.ty.dtype) {
                String::new()
            } else {
                format!(" in [{}, {}]", p.range.lo, p.range.hi)
            };
            format!("{}: {}{}{}", p.name, p.ty, range, span_text(p.span))
        })
        .collect();
    let states: Vec<String> = k
        .states
        .iter()
        .map(|s| format!("state {}: {}{}", s.name, s.ty, span_text(s.span)))
        .collect();
    let all: Vec<String> = params.into_iter().chain(states).collect();
    let _ = writeln!(out, "kernel {}({}) {{", k.name, all.join(", "));
    for (v, d) in k.insts.iter() {
        let body = match &d.inst {
            Inst::Input(i) => format!("input {}", k.params[*i as usize].name),
            Inst::State(i) => format!("state {}", k.states[*i as usize].name),
            Inst::Const(c) => format!("const {c}"),
            Inst::Unary(op, a) => format!("{} {a}", op.name()),
            Inst::Binary(op, a, b) => format!("{} {a}, {b}", op.name()),
            Inst::Compare(op, a, b) => format!("{} {a}, {b}", op.name()),
            Inst::Where(c, a, b) => format!("where {c}, {a}, {b}"),
            Inst::Cast(a) => format!("cast {a}"),
            Inst::Broadcast(a) => format!("broadcast {a}"),
            Inst::Reduce(op, a, axes) if axes.is_empty() => format!("reduce {} {a}", op.name()),
            Inst::Reduce(op, a, axes) => format!("reduce {} {a} axes {}", op.name(), list(axes)),
            Inst::Reshape(a) => format!("reshape {a}"),
            Inst::Slice(a, sel) => {
                let f =
                    |i: usize| list(&sel.iter().map(|s| [s.0, s.1, s.2][i]).collect::<Vec<_>>());
                format!("slice {a} start {} step {} count {}", f(0), f(1), f(2))
            }
            Inst::Table(values) => format!("table {}", list(values)),
            Inst::Gather(t, i) => format!("gather {t}, {i}"),
            Inst::Scan(a) => format!("cumsum {a}"),
            Inst::Iota => "iota".to_string(),
            Inst::Concat(vs, axis) => {
                let vs: Vec<String> = vs.iter().map(|v| v.to_string()).collect();
                format!("concat {} axis {axis}", vs.join(", "))
            }
            Inst::Compress(a, m) => format!("compress {a}, {m}"),
            Inst::Bincount(x, w, m, n) => {
                let mut s = format!("bincount {x} bins {n}");
                if let Some(w) = w {
                    s += &format!(" weights {w}");
                }
                if let Some(m) = m {
                    s += &format!(" mask {m}");
                }
                s
            }
        };
        let line = format!("  {v}: {} = {body}{}", d.ty, span_text(d.span));
        match source {
            Some(src) if !d.span.is_none() => {
                let _ = writeln!(out, "{line:<48} ; {}", src.loc(d.span));
            }
            _ => {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    for (s, u) in k.states.iter().zip(&k.updates) {
        let _ = writeln!(out, "  update {} = {u}", s.name);
    }
    let outs: Vec<String> = k.outputs.iter().map(|v| v.to_string()).collect();
    let _ = writeln!(out, "  return {}", outs.join(", "));
    out.push_str("}\n");
    out
}

/// `FromStr` from the mnemonic, for every operator enum: the one way both text
/// parsers (array-op IR and process network) read an operator.
macro_rules! from_mnemonic {
    ($($t:ident),*) => {$(
        impl std::str::FromStr for $t {
            type Err = ();

            fn from_str(s: &str) -> Result<Self, ()> {
                $t::ALL.into_iter().find(|o| o.name() == s).ok_or(())
            }
        }
    )*};
}

from_mnemonic!(UnaryOp, BinaryOp, CmpOp, ReduceOp);
