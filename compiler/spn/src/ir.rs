//! The process network: data structures.

use cranelift_entity::{entity_impl, PrimaryMap};
use hissc_aop::{BinaryOp, CmpOp, DType, Interval, ReduceOp, Shape, UnaryOp};
use hissc_diagnostics::Span;

/// A bus: the output of one process (`b0`, `b1`, ...).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bus(u32);
entity_impl!(Bus, "b");

/// When a bus carries valid elements, relative to the start of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sched {
    /// Constant during a frame (parameters and what is computed from them only).
    Static,
    /// One element per frame, valid in cycle `t` after the frame starts.
    One {
        /// The cycle.
        t: u32,
    },
    /// `n` elements on consecutive cycles, the first in cycle `t` after the frame starts.
    Dense {
        /// Elements per frame.
        n: u32,
        /// The cycle of the first.
        t: u32,
    },
}

impl Sched {
    /// The cycle of the first element (0 for static buses).
    pub fn time(self) -> u32 {
        match self {
            Sched::Static => 0,
            Sched::One { t } | Sched::Dense { t, .. } => t,
        }
    }

    /// Elements per frame (0 for static buses).
    pub fn elements(self) -> u32 {
        match self {
            Sched::Static => 0,
            Sched::One { .. } => 1,
            Sched::Dense { n, .. } => n,
        }
    }

    /// Static buses have no valid signal.
    pub fn is_static(self) -> bool {
        self == Sched::Static
    }

    /// The same pattern, `d` cycles later.
    pub fn delayed(self, d: u32) -> Sched {
        match self {
            Sched::Static => Sched::Static,
            Sched::One { t } => Sched::One { t: t + d },
            Sched::Dense { n, t } => Sched::Dense { n, t: t + d },
        }
    }

    /// Same pattern, whatever the time.
    pub fn same_pattern(self, o: Sched) -> bool {
        self.with_time(0) == o.with_time(0)
    }

    /// The same pattern starting at cycle `t`.
    pub fn with_time(self, t: u32) -> Sched {
        match self {
            Sched::Static => Sched::Static,
            Sched::One { .. } => Sched::One { t },
            Sched::Dense { n, .. } => Sched::Dense { n, t },
        }
    }
}

/// An operand of a process: a bus or a constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Src {
    /// The value on a bus.
    Bus(Bus),
    /// A constant.
    Const(i128),
}

/// What a process does. Registered processes update their output bus on the
/// rising clock edge; processes whose operands are all static are combinational.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcKind {
    /// Input stream port number `.0` drives the bus directly.
    Input(u32),
    /// Scalar parameter port number `.0` drives the (static) bus.
    Param(u32),
    /// Elementwise unary op in a dtype.
    Unary(UnaryOp, DType, Src),
    /// Elementwise binary op in a dtype.
    Binary(BinaryOp, DType, Src, Src),
    /// Exact comparison.
    Compare(CmpOp, Src, Src),
    /// `cond ? a : b`.
    Select(Src, Src, Src),
    /// Conversion to a dtype (wrapping).
    Cast(DType, Src),
    /// Reduces every `count` consecutive valid elements to one, in a dtype.
    Reduce(ReduceOp, DType, Bus, u32),
    /// Stores a stream of shape `from` and replays it broadcast to shape `to`,
    /// one element for each valid element of the timing bus.
    Broadcast {
        /// The stream to store.
        arg: Bus,
        /// The stream whose valid elements ask for a value.
        timing: Bus,
        /// Shape of `arg`.
        from: Shape,
        /// Shape of the result.
        to: Shape,
    },
    /// The same stream `.1` cycles later.
    Delay(Bus, u32),
}

impl ProcKind {
    /// The buses this process reads.
    pub fn inputs(&self) -> Vec<Bus> {
        let srcs: Vec<Src> = match self {
            ProcKind::Input(_) | ProcKind::Param(_) => vec![],
            ProcKind::Unary(_, _, a) | ProcKind::Cast(_, a) => vec![*a],
            ProcKind::Binary(_, _, a, b) | ProcKind::Compare(_, a, b) => vec![*a, *b],
            ProcKind::Select(c, a, b) => vec![*c, *a, *b],
            ProcKind::Reduce(_, _, a, _) | ProcKind::Delay(a, _) => vec![Src::Bus(*a)],
            ProcKind::Broadcast { arg, timing, .. } => vec![Src::Bus(*arg), Src::Bus(*timing)],
        };
        srcs.into_iter()
            .filter_map(|s| match s {
                Src::Bus(b) => Some(b),
                Src::Const(_) => None,
            })
            .collect()
    }

    /// Elementwise ops (one output per input element, same schedule).
    pub fn is_elementwise(&self) -> bool {
        matches!(
            self,
            ProcKind::Unary(..)
                | ProcKind::Binary(..)
                | ProcKind::Compare(..)
                | ProcKind::Select(..)
                | ProcKind::Cast(..)
        )
    }
}

/// A process and the bus it drives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// What it computes.
    pub kind: ProcKind,
    /// Bits of the two's complement signal that carries the values.
    pub width: u32,
    /// The values the bus can carry (from range analysis).
    pub range: Interval,
    /// When the bus carries valid elements.
    pub sched: Sched,
    /// The Python expression it comes from.
    pub span: Span,
}

/// A top-level port (input stream or scalar parameter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    /// The Python parameter name.
    pub name: String,
    /// numpy dtype.
    pub dtype: DType,
    /// Shape of one frame (empty for parameters).
    pub shape: Shape,
    /// The values it may carry (a range type's promise, or the dtype's range).
    pub range: Interval,
}

/// A kernel output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// Port name (`out`, `out0`, ...).
    pub name: String,
    /// The bus it reads.
    pub bus: Bus,
    /// numpy's dtype of the output (restored at the port).
    pub dtype: DType,
    /// numpy's shape of one frame's output.
    pub shape: Shape,
}

/// A synchronous process network for one kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    /// The kernel's name.
    pub name: String,
    /// Input streams, in signature order.
    pub inputs: Vec<Port>,
    /// Scalar parameters, in signature order.
    pub params: Vec<Port>,
    /// Processes, each driving one bus, in an order where operands come first.
    pub nodes: PrimaryMap<Bus, Node>,
    /// Outputs.
    pub outputs: Vec<Output>,
}

impl Network {
    /// Cycles between the starts of two frames: the longest input stream.
    pub fn frame_period(&self) -> u32 {
        self.inputs
            .iter()
            .map(|p| hissc_aop::types::numel(&p.shape) as u32)
            .max()
            .unwrap_or(1)
    }

    /// Is the bus's process combinational (no register)?
    pub fn is_comb(&self, b: Bus) -> bool {
        let n = &self.nodes[b];
        matches!(n.kind, ProcKind::Input(_) | ProcKind::Param(_)) || n.sched.is_static()
    }
}
