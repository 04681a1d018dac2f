//! Flattening a network into dense tables: one slot per bus, a private state
//! area per process, and a straight-line list of operations in the network's
//! (topological) order.
//!
//! The engine gives each slot a row of cells, one per cycle of a block, and runs
//! each operation over the whole block (see [`crate::engine`]); an operation's
//! state area holds its counters, accumulators and memories. Hardware decisions
//! an operation needs (whether accumulators are in block RAM, a bin count's
//! latency, a ROM's size) come from the kinds' modules in [`hissc_spn::proc`], as the VHDL's do.
//! A stateful kind's operation (its fields, its state layout and the
//! constructor that lays it out) lives in `engine/<kind>.rs`, beside the loop
//! that evaluates it; [`flatten`] is one arm per kind.

#![allow(missing_docs)] // the fields of `Op` are named as in its variants' docs

use cranelift_entity::EntityRef;
use hissc_aop::{BinaryOp, CmpOp, DType, UnaryOp};
use hissc_spn::{Network, ProcKind, Src};

pub use crate::engine::bincount::Bincount;
pub use crate::engine::broadcast::Broadcast;
pub use crate::engine::delay::Delay;
pub use crate::engine::iota::Iota;
pub use crate::engine::load::{Load, Store};
pub use crate::engine::merge::Merge;
pub use crate::engine::pack::Pack;
use crate::engine::reduce::Reduction;
pub use crate::engine::reduce::{Reduce, ReduceAll};
pub use crate::engine::scan::Scan;
pub use crate::engine::segment::Segment;
pub use crate::engine::slice::Slice;

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
    /// One lane's row segments; state: `acc`, `col`.
    Segment(Segment),
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
    /// A state bank's read port; state: the read counter.
    Load(Load),
    /// Flat indices; state: the element counter.
    Iota(Iota),
    /// A join; state: a queue per stream, whose turn it is, how far.
    Merge(Merge),
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
            ProcKind::Reduce(p) => match Reduce::op(dst, p, st) {
                Reduction::Lines(r) => Op::Reduce(r),
                Reduction::All(r) => Op::ReduceAll(r),
            },
            ProcKind::Slice(a, shape, sel) => Op::Slice(Slice::op(dst, *a, shape, sel, st)),
            ProcKind::Scan(d, a, count) => Op::Scan(Scan::op(dst, *d, *a, *count, st)),
            ProcKind::Segment(p) => Op::Segment(Segment::op(net, b, p, st)),
            ProcKind::Bincount(p) => Op::Bincount(Bincount::op(net, b, p, st)),
            ProcKind::Broadcast(p) => Op::Broadcast(Broadcast::op(net, b, p, st)),
            ProcKind::Pack { lanes, width, lane } => {
                Op::Pack(Pack::op(net, dst, lanes, *width, *lane, st))
            }
            ProcKind::Delay(a, n) => Op::Delay(Delay::op(dst, *a, *n, st)),
            ProcKind::Load {
                state,
                lane,
                timing,
            } => Op::Load(Load::op(net, dst, *state, *lane, *timing, st)),
            ProcKind::Iota {
                timing,
                first,
                step,
                wrap,
            } => Op::Iota(Iota::op(net, dst, *timing, (*first, *step, *wrap), st)),
            ProcKind::Merge { srcs, blocks, reps } => {
                Op::Merge(Merge::op(net, dst, srcs, blocks, *reps, st))
            }
        };
        if node.sched.is_static() {
            f.statics.push(op);
        } else {
            f.ops.push(op);
        }
    }
    f
}
