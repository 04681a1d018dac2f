//! The process network: data structures.

use cranelift_entity::{entity_impl, PrimaryMap};
use hissc_aop::{BinaryOp, CmpOp, DType, Interval, ReduceOp, Shape, UnaryOp};
use hissc_diagnostics::Span;
use std::sync::Arc;

/// A bus: the output of one process (`b0`, `b1`, ...).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bus(u32);
entity_impl!(Bus, "b");

/// The positions (cycles after the first) at which a stream carries valid
/// elements within one frame: sorted runs `(start, length)`, the first at 0.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pattern(Arc<[(u32, u32)]>);

impl Pattern {
    /// `n` consecutive elements.
    pub fn dense(n: u32) -> Pattern {
        Pattern(Arc::from(vec![(0, n.max(1))]))
    }

    /// From sorted, distinct positions: the pattern and the first position.
    pub fn from_positions(positions: impl IntoIterator<Item = u32>) -> (u32, Pattern) {
        let mut runs: Vec<(u32, u32)> = Vec::new();
        let mut first = None;
        for p in positions {
            let base = *first.get_or_insert(p);
            let q = p - base;
            match runs.last_mut() {
                Some((s, l)) if *s + *l == q => *l += 1,
                _ => runs.push((q, 1)),
            }
        }
        (first.unwrap_or(0), Pattern(Arc::from(runs)))
    }

    /// The runs.
    pub fn runs(&self) -> &[(u32, u32)] {
        &self.0
    }

    /// Every position, in order.
    pub fn positions(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().flat_map(|&(s, l)| s..s + l)
    }

    /// Number of elements.
    pub fn elements(&self) -> u32 {
        self.0.iter().map(|r| r.1).sum()
    }

    /// The last position.
    pub fn last(&self) -> u32 {
        self.0.last().map_or(0, |&(s, l)| s + l - 1)
    }
}

/// When a bus carries valid elements, relative to the start of a frame.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Sched {
    /// Constant during a frame (parameters and what is computed from them only).
    Static,
    /// Valid in cycles `t + p` for every position `p` of the pattern.
    Stream {
        /// The cycle of the first element.
        t: u32,
        /// Where the elements are.
        pat: Pattern,
    },
}

impl Sched {
    /// `n` consecutive elements from cycle `t`.
    pub fn dense(n: u32, t: u32) -> Sched {
        Sched::Stream {
            t,
            pat: Pattern::dense(n),
        }
    }

    /// The cycle of the first element (0 for static buses).
    pub fn time(&self) -> u32 {
        match self {
            Sched::Static => 0,
            Sched::Stream { t, .. } => *t,
        }
    }

    /// The cycle of the last element (0 for static buses).
    pub fn last_time(&self) -> u32 {
        match self {
            Sched::Static => 0,
            Sched::Stream { t, pat } => t + pat.last(),
        }
    }

    /// Elements per frame (0 for static buses).
    pub fn elements(&self) -> u32 {
        match self {
            Sched::Static => 0,
            Sched::Stream { pat, .. } => pat.elements(),
        }
    }

    /// Static buses have no valid signal.
    pub fn is_static(&self) -> bool {
        *self == Sched::Static
    }

    /// The same pattern, `d` cycles later.
    pub fn delayed(&self, d: u32) -> Sched {
        self.with_time(self.time() + d)
    }

    /// Same pattern, whatever the time.
    pub fn same_pattern(&self, o: &Sched) -> bool {
        match (self, o) {
            (Sched::Static, Sched::Static) => true,
            (Sched::Stream { pat: a, .. }, Sched::Stream { pat: b, .. }) => a == b,
            _ => false,
        }
    }

    /// The same pattern starting at cycle `t`.
    pub fn with_time(&self, t: u32) -> Sched {
        match self {
            Sched::Static => Sched::Static,
            Sched::Stream { pat, .. } => Sched::Stream {
                t,
                pat: pat.clone(),
            },
        }
    }

    /// Every valid cycle, in order.
    pub fn cycles(&self) -> Vec<u32> {
        match self {
            Sched::Static => Vec::new(),
            Sched::Stream { t, pat } => pat.positions().map(|p| t + p).collect(),
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

/// A pattern for every elementwise process kind: one list, used by every stage
/// that treats them alike, so a new kind is still matched explicitly everywhere.
#[macro_export]
macro_rules! elementwise_kinds {
    () => {
        $crate::ir::ProcKind::Unary(..)
            | $crate::ir::ProcKind::Binary(..)
            | $crate::ir::ProcKind::Compare(..)
            | $crate::ir::ProcKind::Select(..)
            | $crate::ir::ProcKind::Cast(..)
            | $crate::ir::ProcKind::Lookup(..)
            | $crate::ir::ProcKind::Float(..)
    };
}

/// A pattern for every process kind that is not elementwise.
#[macro_export]
macro_rules! stream_kinds {
    () => {
        $crate::ir::ProcKind::Input(..)
            | $crate::ir::ProcKind::Param(_)
            | $crate::ir::ProcKind::Reduce(..)
            | $crate::ir::ProcKind::Slice(..)
            | $crate::ir::ProcKind::Scan(..)
            | $crate::ir::ProcKind::Bincount(_)
            | $crate::ir::ProcKind::Pack { .. }
            | $crate::ir::ProcKind::Broadcast(_)
            | $crate::ir::ProcKind::Delay(..)
            | $crate::ir::ProcKind::Load { .. }
            | $crate::ir::ProcKind::Iota { .. }
            | $crate::ir::ProcKind::Merge { .. }
            | $crate::ir::ProcKind::Segment(_)
    };
}

/// Which elements of its shapes a broadcast's streams carry: the timing stream
/// elements `lane + k * lanes` of `to` (C order), the stored stream elements
/// `m + k * arg_lanes` of `from`, where `m` is the residue modulo `arg_lanes` of
/// every element the lane reads (one lane of a broadcast whose rows straddle
/// cycles, say a 514-wide row broadcast on 8 lanes, each lane reading one of
/// the row's two lanes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LaneView {
    /// The lane of `to` the timing stream carries.
    pub lane: u32,
    /// Lanes of `to`.
    pub lanes: u32,
    /// Lanes of `from` (a power of two; the stored stream is one of them).
    pub arg_lanes: u32,
}

impl LaneView {
    /// Whole frames on both streams.
    pub const WHOLE: LaneView = LaneView {
        lane: 0,
        lanes: 1,
        arg_lanes: 1,
    };
}

/// [`ProcKind::Bincount`]'s fields: counts (or sums weights) per bin over a
/// frame of `count` elements, where the mask is true.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bincount {
    /// Bin indices.
    pub x: Bus,
    /// Weights (summed as integers).
    pub weights: Option<Bus>,
    /// Which elements count.
    pub mask: Option<Bus>,
    /// Number of bins.
    pub bins: u32,
    /// Elements per frame.
    pub count: u32,
    /// Results delivered as float64 (numpy's weighted `bincount`).
    pub float: bool,
}

/// [`ProcKind::Reduce`]'s fields: a reduction of a stream over some of its axes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reduce {
    /// The reduction.
    pub op: ReduceOp,
    /// Its dtype.
    pub dtype: DType,
    /// The stream reduced.
    pub arg: Bus,
    /// The stream's logical shape.
    pub shape: Shape,
    /// The axes reduced (a non-empty list).
    pub axes: Vec<u32>,
}

/// [`ProcKind::Segment`]'s fields: one lane's part of a row reduction whose rows straddle cycles ([`crate::proc::segment`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// The reduction (`sum`, `min`, `max`, `any`, `all`).
    pub op: ReduceOp,
    /// Its dtype.
    pub d: DType,
    /// The lane's stream.
    pub arg: Bus,
    /// Elements per row.
    pub width: u32,
    /// Which lane of the row's elements this stream carries.
    pub lane: u32,
    /// Elements per cycle.
    pub lanes: u32,
}

/// [`ProcKind::Broadcast`]'s fields: a stored stream replayed broadcast to a larger shape ([`crate::proc::broadcast`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broadcast {
    /// The stream to store.
    pub arg: Bus,
    /// The stream whose valid elements ask for a value.
    pub timing: Bus,
    /// Shape of `arg`.
    pub from: Shape,
    /// Shape of the result.
    pub to: Shape,
    /// Which elements of the shapes the streams carry.
    pub view: LaneView,
}

/// What a process does. Registered processes update their output bus on the
/// rising clock edge; processes whose operands are all static are combinational.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcKind {
    /// Lane `.1` of input stream port number `.0` drives the bus directly.
    Input(u32, u32),
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
    /// Reduces a stream over some of its axes; outputs leave with the last
    /// element that feeds them ([`crate::proc::reduce`]).
    Reduce(Reduce),
    /// Passes on the elements of a stream of logical shape `.1` that a basic slice
    /// selects, per axis `(start, step, count)`.
    Slice(Bus, Shape, Vec<(u32, u32, u32)>),
    /// Running sums of every `.2` elements (a frame), in a dtype.
    Scan(DType, Bus, u32),
    /// Elementwise read of a constant table (a ROM).
    Lookup(Vec<i128>, Src),
    /// Counts (or sums weights) per bin over a frame of `count` elements, where
    /// the mask is true; then streams the `bins` results, one per cycle
    /// ([`crate::proc::bincount`]).
    Bincount(Bincount),
    /// float64 (its bit pattern) of an exact integer operand (|v| < 2^53).
    Float(Src),
    /// A gearbox: appends the valid elements of `lanes` (in lane order, cycle by
    /// cycle) to a queue and, whenever it holds a group of `width`, takes one group
    /// out, one cycle later; drives element `lane` of the group. (One process per
    /// output lane; they keep identical queues.)
    Pack {
        /// The source lanes, each with its own valid cycles.
        lanes: Vec<Bus>,
        /// Elements per output cycle (the output's lane count).
        width: u32,
        /// Which element of a group this process drives.
        lane: u32,
    },
    /// Stores a stream of shape `from` and replays it broadcast to shape `to`,
    /// one element for each valid element of the timing bus; on lanes, each
    /// stream carries the part of its shape that its [`LaneView`] says.
    Broadcast(Broadcast),
    /// The same stream `.1` cycles later.
    Delay(Bus, u32),
    /// Reads bank `lane` of state `state`'s memory: for each valid element of the
    /// timing stream, the bank's next element (the value the previous frame left),
    /// one cycle later. The bank is written from lane `lane` of the state's `next`
    /// output as that stream carries it (see [`StatePort`]).
    Load {
        /// The state (index into [`Network::states`]).
        state: u32,
        /// The bank: elements `q * lanes + lane` of the state.
        lane: u32,
        /// The stream whose valid elements ask for the next element.
        timing: Bus,
    },
    /// Joins streams in the order of a concatenation: `reps` times, `blocks[i]`
    /// elements of `srcs[i]` in turn, each as soon as it has arrived
    /// ([`crate::proc::merge`]).
    Merge {
        /// The joined streams.
        srcs: Vec<Bus>,
        /// Elements of each stream per repetition.
        blocks: Vec<u32>,
        /// Repetitions per frame (the elements of the axes before the joined one).
        reps: u32,
    },
    /// One lane's part of a row reduction whose rows straddle cycles: the
    /// stream carries elements `lane + q * lanes` of a sequence of rows of
    /// `width` elements (`width >= lanes`), and in each cycle where a row ends
    /// (on any lane) the process emits the reduction of this lane's elements of
    /// that row, one cycle later ([`crate::proc::segment`]). Every lane emits
    /// in the same cycles, so a plain tree combines them.
    Segment(Segment),
    /// Counts the valid elements of a stream: the `k`-th of a frame is
    /// `first + k * step` (modulo `wrap`, if given), one cycle later (flat
    /// indices of a lane's elements, or their columns in rows of `wrap`).
    Iota {
        /// The stream counted.
        timing: Bus,
        /// The value of a frame's first element.
        first: u32,
        /// The difference between consecutive elements.
        step: u32,
        /// The modulus (`first` and `step` below it).
        wrap: Option<u32>,
    },
}

impl ProcKind {
    /// The operands this process reads, constants included, in order.
    pub fn operands(&self) -> Vec<Src> {
        match self {
            ProcKind::Input(..) | ProcKind::Param(_) => vec![],
            ProcKind::Unary(_, _, a)
            | ProcKind::Cast(_, a)
            | ProcKind::Lookup(_, a)
            | ProcKind::Float(a) => vec![*a],
            ProcKind::Binary(_, _, a, b) | ProcKind::Compare(_, a, b) => vec![*a, *b],
            ProcKind::Select(c, a, b) => vec![*c, *a, *b],
            ProcKind::Reduce(Reduce { arg: a, .. })
            | ProcKind::Delay(a, _)
            | ProcKind::Slice(a, _, _)
            | ProcKind::Scan(_, a, _)
            | ProcKind::Segment(Segment { arg: a, .. }) => {
                vec![Src::Bus(*a)]
            }
            ProcKind::Bincount(Bincount {
                x, weights, mask, ..
            }) => std::iter::once(*x)
                .chain(*weights)
                .chain(*mask)
                .map(Src::Bus)
                .collect(),
            ProcKind::Broadcast(Broadcast { arg, timing, .. }) => {
                vec![Src::Bus(*arg), Src::Bus(*timing)]
            }
            ProcKind::Load { timing, .. } | ProcKind::Iota { timing, .. } => {
                vec![Src::Bus(*timing)]
            }
            ProcKind::Pack { lanes, .. } => lanes.iter().map(|b| Src::Bus(*b)).collect(),
            ProcKind::Merge { srcs, .. } => srcs.iter().map(|b| Src::Bus(*b)).collect(),
        }
    }

    /// The buses this process reads.
    pub fn inputs(&self) -> Vec<Bus> {
        let srcs = self.operands();
        srcs.into_iter()
            .filter_map(|s| match s {
                Src::Bus(b) => Some(b),
                Src::Const(_) => None,
            })
            .collect()
    }

    /// Elementwise ops (one output per input element, same schedule).
    pub fn is_elementwise(&self) -> bool {
        matches!(self, crate::elementwise_kinds!())
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
    /// Elements per cycle (1 for parameters): element `q * lanes + l` of a frame
    /// arrives on lane `l` in the frame's cycle `q`.
    pub lanes: u32,
}

/// A kernel output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// Port name (`out`, `out0`, ...).
    pub name: String,
    /// The buses it reads, one per lane: its `q`-th valid cycle carries elements
    /// `q * lanes .. (q + 1) * lanes`, all lanes valid together.
    pub lanes: Vec<Bus>,
    /// numpy's dtype of the output (restored at the port).
    pub dtype: DType,
    /// numpy's shape of one frame's output (for a `Vec`, the most it holds).
    pub shape: Shape,
    /// For a variable-length output (`Vec`): per lane, the bool stream that says
    /// which elements of `lanes` are selected (valid exactly when they are).
    pub mask: Option<Vec<Bus>>,
}

/// State kept from one frame to the next (a `State[T, ...]` parameter): a memory
/// of the state's elements in `lanes` banks (bank `l` holds elements
/// `q * lanes + l`). `load` processes read it; the network's output number
/// `next` is the state after each frame, written back into the banks as it
/// streams (and visible to the host as an ordinary output).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatePort {
    /// The Python parameter name.
    pub name: String,
    /// numpy dtype.
    pub dtype: DType,
    /// The state's shape.
    pub shape: Shape,
    /// Banks (elements written and read per cycle).
    pub lanes: u32,
    /// The output carrying the state after each frame.
    pub next: u32,
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
    /// Outputs (the kernel's, then each state's next value).
    pub outputs: Vec<Output>,
    /// States kept across frames.
    pub states: Vec<StatePort>,
    /// The fewest cycles between frame starts that the states allow (a state
    /// element must be written before the next frame reads it); 0 without states.
    pub min_period: u32,
}

impl Network {
    /// An empty network.
    pub fn new(name: impl Into<String>) -> Network {
        Network {
            name: name.into(),
            inputs: Vec::new(),
            params: Vec::new(),
            nodes: PrimaryMap::new(),
            outputs: Vec::new(),
            states: Vec::new(),
            min_period: 0,
        }
    }

    /// Cycles between the starts of two frames: the longest input stream, or
    /// longer where a state's update needs it ([`Network::min_period`]).
    pub fn frame_period(&self) -> u32 {
        self.inputs
            .iter()
            .map(|p| (hissc_aop::types::numel(&p.shape) as u32).div_ceil(p.lanes.max(1)))
            .max()
            .unwrap_or(1)
            .max(self.min_period)
    }

    /// The kernel's own outputs (without the states' next values).
    pub fn kernel_outputs(&self) -> &[Output] {
        &self.outputs[..self.outputs.len() - self.states.len()]
    }

    /// Elements per cycle of the widest input stream (1 for a one-lane network).
    pub fn lanes(&self) -> u32 {
        self.inputs.iter().map(|p| p.lanes).max().unwrap_or(1)
    }

    /// Adds a process driving a new bus as wide as its range needs.
    pub fn process(&mut self, kind: ProcKind, range: Interval, sched: Sched, span: Span) -> Bus {
        self.nodes.push(Node {
            kind,
            // at least 2 bits: GHDL 2.0 writes invalid netlists for 1-bit vectors
            width: range.signed_bits().max(2),
            range,
            sched,
            span,
        })
    }

    /// The bus `b`, `d` cycles later: one `Delay` process per (bus, delay), shared
    /// between users through `memo`.
    pub fn delayed(
        &mut self,
        memo: &mut std::collections::HashMap<(Bus, u32), Bus>,
        b: Bus,
        d: u32,
    ) -> Bus {
        if d == 0 {
            return b;
        }
        if let Some(&x) = memo.get(&(b, d)) {
            return x;
        }
        // a longer delay of the same bus continues the longest shorter one
        if let Some((&(_, e), &x)) = memo
            .iter()
            .filter(|((c, e), _)| *c == b && *e < d)
            .max_by_key(|((_, e), _)| *e)
        {
            let y = self.delayed(memo, x, d - e);
            memo.insert((b, d), y);
            return y;
        }
        let n = &self.nodes[b];
        let node = Node {
            kind: ProcKind::Delay(b, d),
            width: n.width,
            range: n.range,
            sched: n.sched.delayed(d),
            span: n.span,
        };
        let x = self.nodes.push(node);
        memo.insert((b, d), x);
        x
    }

    /// Delays the stream buses among `buses` (through [`Network::delayed`]) so that
    /// they all start in the same cycle; static buses stay as they are.
    pub fn align(
        &mut self,
        memo: &mut std::collections::HashMap<(Bus, u32), Bus>,
        buses: &[Bus],
    ) -> Vec<Bus> {
        let t = buses
            .iter()
            .map(|&b| self.nodes[b].sched.time())
            .max()
            .unwrap_or(0);
        buses
            .iter()
            .map(|&b| match self.nodes[b].sched.clone() {
                Sched::Static => b,
                s => self.delayed(memo, b, t - s.time()),
            })
            .collect()
    }

    /// Is the bus's process combinational (no register)?
    pub fn is_comb(&self, b: Bus) -> bool {
        let n = &self.nodes[b];
        matches!(n.kind, ProcKind::Input(..) | ProcKind::Param(_)) || n.sched.is_static()
    }
}
