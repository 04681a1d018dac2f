//! Flattening a network into dense tables: one slot per bus, a private state
//! area per process, and a straight-line list of operations in the network's
//! (topological) order.
//!
//! The engine gives each slot a row of cells, one per cycle of a block, and runs
//! each operation over the whole block (see [`crate::engine`]); an operation's
//! state area holds its counters, accumulators and memories. Hardware decisions
//! an operation needs (whether accumulators are in block RAM, a bin count's
//! latency, a ROM's size) come from the kinds' modules in [`hissc_spn::proc`], as the VHDL's do.

#![allow(missing_docs)] // the fields of `Op` are named as in its variants' docs

use cranelift_entity::EntityRef;
use hissc_aop::types::numel;
use hissc_aop::{BinaryOp, CmpOp, DType, ReduceOp, UnaryOp};
use hissc_spn::{Bus, Network, ProcKind, Src};

/// An operand: a bus slot or a constant.
#[derive(Clone, Copy, Debug)]
pub enum Opnd {
    /// Bus slot.
    Slot(u32),
    /// Constant.
    Const(i128),
}

/// One operation of the flattened network. `dst` is the slot of the bus it drives,
/// `v` the slot whose valid flag it forwards.
#[derive(Clone, Debug)]
pub enum Op {
    /// Elementwise unary.
    Unary {
        dst: u32,
        v: u32,
        op: UnaryOp,
        d: DType,
        a: Opnd,
    },
    /// Elementwise binary.
    Binary {
        dst: u32,
        v: u32,
        op: BinaryOp,
        d: DType,
        a: Opnd,
        b: Opnd,
    },
    /// Comparison.
    Compare {
        dst: u32,
        v: u32,
        op: CmpOp,
        a: Opnd,
        b: Opnd,
    },
    /// Select.
    Select {
        dst: u32,
        v: u32,
        c: Opnd,
        a: Opnd,
        b: Opnd,
    },
    /// Cast.
    Cast { dst: u32, v: u32, d: DType, a: Opnd },
    /// float64 bits of an exact integer.
    Float { dst: u32, v: u32, a: Opnd },
    /// Reduction over the axes marked `reduced` of a logical `shape`; state: one
    /// counter per axis at `idx`, and (value, index) accumulators at `acc`, one per
    /// output in flight (`line` gives each kept axis's stride among them).
    Reduce(Reduce),
    /// A reduction of every element of a frame into one value (not an argmax or
    /// argmin): state: the accumulator at `acc`, the element count after it.
    ReduceAll(ReduceAll),
    /// Slice filter; state: one counter per axis at `idx`.
    Slice(Slice),
    /// Running sum; state: `acc`, `cnt`.
    Scan(Scan),
    /// Table read.
    Lookup {
        dst: u32,
        v: u32,
        table: Vec<i128>,
        a: Opnd,
    },
    /// Bin counting; state: two banks of `bins` at `mem`, then at `state`: the
    /// element counter, the counting bank, the read position (`bins` when idle)
    /// and the bank being read.
    Bincount(Bincount),
    /// Broadcast memory; state: `mem..mem+len`, write counter, read counters.
    Broadcast(Broadcast),
    /// Gearbox: a queue of `depth` elements at `buf`, its length at `held`.
    Pack(Pack),
    /// Delay line of `n` cycles; state: `n - 1` (data, valid) pairs and a position.
    Delay(Delay),
}

/// Reduction over the axes marked `reduced` of a logical `shape`; state: one
/// counter per axis at `idx`, and (value, index) accumulators at `acc`, one per
/// output in flight (`line` gives each kept axis's stride among them).
#[derive(Clone, Debug)]
pub struct Reduce {
    pub dst: u32,
    pub arg: u32,
    pub op: ReduceOp,
    pub d: DType,
    pub shape: Vec<u32>,
    pub reduced: Vec<bool>,
    pub line: Vec<u32>,
    pub flat: bool,
    pub idx: usize,
    pub acc: usize,
    pub late: Option<usize>,
}

/// A reduction of every element of a frame into one value (not an argmax or
/// argmin): state: the accumulator at `acc`, the element count after it.
#[derive(Clone, Debug)]
pub struct ReduceAll {
    pub dst: u32,
    pub arg: u32,
    pub op: ReduceOp,
    pub d: DType,
    pub n: i128,
    pub acc: usize,
}

/// Slice filter; state: one counter per axis at `idx`.
#[derive(Clone, Debug)]
pub struct Slice {
    pub dst: u32,
    pub arg: u32,
    pub shape: Vec<u32>,
    pub sel: Vec<(u32, u32, u32)>,
    pub idx: usize,
}

/// Running sum; state: `acc`, `cnt`.
#[derive(Clone, Debug)]
pub struct Scan {
    pub dst: u32,
    pub arg: u32,
    pub d: DType,
    pub count: u32,
    pub acc: usize,
    pub cnt: usize,
}

/// Bin counting; state: two banks of `bins` at `mem`, then at `state`: the
/// element counter, the counting bank, the read position (`bins` when idle)
/// and the bank being read.
#[derive(Clone, Debug)]
pub struct Bincount {
    pub dst: u32,
    pub x: u32,
    pub w: Option<u32>,
    pub m: Option<u32>,
    pub bins: u32,
    pub count: u32,
    pub float: bool,
    /// Where the readout's countdown starts after a frame's last element: the
    /// first count leaves [`hissc_spn::proc::bincount::Plan::latency`] cycles later
    /// (two cycles to reach 0, then the registered read).
    pub start: i128,
    pub mem: usize,
    pub state: usize,
}

/// Broadcast memory; state: `mem..mem+len`, write counter, read counters.
#[derive(Clone, Debug)]
pub struct Broadcast {
    pub dst: u32,
    pub arg: u32,
    pub timing: u32,
    pub mem: usize,
    pub len: u32,
    pub wcnt: usize,
    pub rcnt: usize,
    pub to: Vec<u32>,
    pub strides: Vec<u32>,
}

/// Gearbox: a queue of `depth` elements at `buf`, its length at `held`.
#[derive(Clone, Debug)]
pub struct Pack {
    pub dst: u32,
    pub lanes: Vec<u32>,
    pub width: u32,
    pub lane: u32,
    pub buf: usize,
    pub held: usize,
}

/// Delay line of `n` cycles; state: `n - 1` (data, valid) pairs and a position.
#[derive(Clone, Debug)]
pub struct Delay {
    pub dst: u32,
    pub arg: u32,
    pub ring: usize,
    pub n: u32,
    pub pos: usize,
}

/// The flattened network.
#[derive(Clone, Debug)]
pub struct Flat {
    /// Registered operations, in network order.
    pub ops: Vec<Op>,
    /// Static operations (computed once per run from the parameters), in order.
    pub statics: Vec<Op>,
    /// Number of bus slots.
    pub slots: usize,
    /// Size of the private state area.
    pub state: usize,
    /// For each input port, its bus slot.
    pub input_slots: Vec<Vec<u32>>,
    /// For each parameter port, its bus slot (if the parameter is used).
    pub param_slots: Vec<Option<u32>>,
}

fn opnd(s: &Src) -> Opnd {
    match s {
        Src::Bus(b) => Opnd::Slot(b.index() as u32),
        Src::Const(c) => Opnd::Const(*c),
    }
}

/// The slot whose valid flag an elementwise process forwards: its first stream operand.
fn valid_src(net: &Network, srcs: &[&Src]) -> u32 {
    srcs.iter()
        .find_map(|s| match s {
            Src::Bus(b) if !net.nodes[*b].sched.is_static() => Some(b.index() as u32),
            _ => None,
        })
        .unwrap_or(0)
}

/// Flattens a verified network.
pub fn flatten(net: &Network) -> Flat {
    let mut f = Flat {
        ops: Vec::new(),
        statics: Vec::new(),
        slots: net.nodes.len(),
        state: 0,
        input_slots: net
            .inputs
            .iter()
            .map(|p| vec![0; p.lanes.max(1) as usize])
            .collect(),
        param_slots: vec![None; net.params.len()],
    };
    for (b, node) in net.nodes.iter() {
        let dst = b.index() as u32;
        let st = &mut f.state;
        // one arm per kind: the ports are slots, every other kind one operation
        let op = match &node.kind {
            ProcKind::Input(i, l) => {
                f.input_slots[*i as usize][*l as usize] = dst;
                continue;
            }
            ProcKind::Param(i) => {
                f.param_slots[*i as usize] = Some(dst);
                continue;
            }
            ProcKind::Unary(op, d, a) => Op::Unary {
                dst,
                v: valid_src(net, &[a]),
                op: *op,
                d: *d,
                a: opnd(a),
            },
            ProcKind::Binary(op, d, a, c) => Op::Binary {
                dst,
                v: valid_src(net, &[a, c]),
                op: *op,
                d: *d,
                a: opnd(a),
                b: opnd(c),
            },
            ProcKind::Compare(op, a, c) => Op::Compare {
                dst,
                v: valid_src(net, &[a, c]),
                op: *op,
                a: opnd(a),
                b: opnd(c),
            },
            ProcKind::Select(c, a, e) => Op::Select {
                dst,
                v: valid_src(net, &[c, a, e]),
                c: opnd(c),
                a: opnd(a),
                b: opnd(e),
            },
            ProcKind::Float(a) => Op::Float {
                dst,
                v: valid_src(net, &[a]),
                a: opnd(a),
            },
            ProcKind::Cast(d, a) => Op::Cast {
                dst,
                v: valid_src(net, &[a]),
                d: *d,
                a: opnd(a),
            },
            ProcKind::Lookup(t, a) => Op::Lookup {
                dst,
                v: valid_src(net, &[a]),
                table: t.clone(),
                a: opnd(a),
            },
            ProcKind::Reduce(op, d, a, shape, axes) => {
                Reduce::op(dst, *op, *d, *a, shape, axes, st)
            }
            ProcKind::Slice(a, shape, sel) => Slice::op(dst, *a, shape, sel, st),
            ProcKind::Scan(d, a, count) => Scan::op(dst, *d, *a, *count, st),
            ProcKind::Bincount { .. } => Bincount::op(net, b, st),
            ProcKind::Broadcast {
                arg,
                timing,
                from,
                to,
            } => Broadcast::op(dst, *arg, *timing, from, to, st),
            ProcKind::Pack { lanes, width, lane } => Pack::op(net, dst, lanes, *width, *lane, st),
            ProcKind::Delay(a, n) => Delay::op(dst, *a, *n, st),
        };
        if node.sched.is_static() {
            f.statics.push(op);
        } else {
            f.ops.push(op);
        }
    }
    f
}

/// Takes `n` words of the private state area (`state` is its size so far).
fn alloc(n: usize, state: &mut usize) -> usize {
    let at = *state;
    *state += n;
    at
}

fn slot(b: Bus) -> u32 {
    b.index() as u32
}

impl Reduce {
    /// A reduction of `shape` over `axes`: a whole-stream accumulator
    /// ([`ReduceAll`]) or one per line ([`Reduce`]), as
    /// [`hissc_spn::proc::reduce`] lays them out.
    #[allow(clippy::too_many_arguments)]
    fn op(
        dst: u32,
        op: ReduceOp,
        d: DType,
        a: Bus,
        shape: &[u32],
        axes: &[u32],
        st: &mut usize,
    ) -> Op {
        let reduced: Vec<bool> = (0..shape.len())
            .map(|i| axes.contains(&(i as u32)))
            .collect();
        let (lines, line) = hissc_spn::proc::reduce::lines(shape, axes);
        let idx = alloc(shape.len(), st);
        let acc = alloc(2 * lines as usize, st);
        // with block RAM accumulators the output is registered once more
        let late = hissc_spn::proc::reduce::in_ram(shape, axes).then(|| alloc(2, st));
        let flat = axes.len() == shape.len();
        if flat && !matches!(op, ReduceOp::ArgMax | ReduceOp::ArgMin) {
            // the common case: one accumulator over the whole stream
            return Op::ReduceAll(ReduceAll {
                dst,
                arg: slot(a),
                op,
                d,
                n: numel(shape) as i128,
                acc: alloc(2, st),
            });
        }
        Op::Reduce(Reduce {
            dst,
            arg: slot(a),
            op,
            d,
            shape: shape.to_vec(),
            reduced,
            line,
            flat,
            idx,
            acc,
            late,
        })
    }
}

impl Slice {
    /// A basic slice of `shape`.
    fn op(dst: u32, a: Bus, shape: &[u32], sel: &[(u32, u32, u32)], st: &mut usize) -> Op {
        Op::Slice(Slice {
            dst,
            arg: slot(a),
            shape: shape.to_vec(),
            sel: sel.to_vec(),
            idx: alloc(shape.len(), st),
        })
    }
}

impl Scan {
    /// A running sum over `count` elements.
    fn op(dst: u32, d: DType, a: Bus, count: u32, st: &mut usize) -> Op {
        Op::Scan(Scan {
            dst,
            arg: slot(a),
            d,
            count,
            acc: alloc(1, st),
            cnt: alloc(1, st),
        })
    }
}

impl Bincount {
    /// The bin count `b`: two banks of counters and its pipeline's state, its
    /// latency from [`hissc_spn::proc::bincount::plan`].
    fn op(net: &Network, b: Bus, st: &mut usize) -> Op {
        let ProcKind::Bincount {
            x,
            weights,
            mask,
            bins,
            count,
            float,
        } = net.nodes[b].kind
        else {
            unreachable!("a bin count")
        };
        let plan = hissc_spn::proc::bincount::plan(net, b).expect("a bin count");
        Op::Bincount(Bincount {
            dst: slot(b),
            x: slot(x),
            w: weights.map(slot),
            m: mask.map(slot),
            bins,
            count,
            float,
            start: 2 - plan.latency as i128,
            mem: alloc(2 * bins as usize, st),
            state: alloc(4, st),
        })
    }
}

impl Broadcast {
    /// A broadcast from `from` to `to`: the stored frame and its counters.
    fn op(dst: u32, arg: Bus, timing: Bus, from: &[u32], to: &[u32], st: &mut usize) -> Op {
        let len = numel(from) as u32;
        Op::Broadcast(Broadcast {
            dst,
            arg: slot(arg),
            timing: slot(timing),
            mem: alloc(len as usize, st),
            len,
            wcnt: alloc(1, st),
            rcnt: alloc(to.len(), st),
            to: to.to_vec(),
            strides: hissc_spn::proc::broadcast::strides(from, to),
        })
    }
}

impl Pack {
    /// A gearbox with the queue depth [`hissc_spn::proc::pack::depth`] gives.
    fn op(net: &Network, dst: u32, lanes: &[Bus], width: u32, lane: u32, st: &mut usize) -> Op {
        let depth = hissc_spn::proc::pack::depth(net, lanes, width) as usize;
        Op::Pack(Pack {
            dst,
            lanes: lanes.iter().map(|&b| slot(b)).collect(),
            width,
            lane,
            buf: alloc(depth, st),
            held: alloc(1, st),
        })
    }
}

impl Delay {
    /// A delay of `n` cycles: a ring of the values in flight.
    fn op(dst: u32, a: Bus, n: u32, st: &mut usize) -> Op {
        Op::Delay(Delay {
            dst,
            arg: slot(a),
            ring: alloc(2 * (n as usize - 1), st),
            n,
            pos: alloc(1, st),
        })
    }
}
