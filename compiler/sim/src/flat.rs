//! Flattening a network into dense tables: one slot per bus, a private state
//! area per process, and a straight-line list of operations in the network's
//! (topological) order.
//!
//! The engine gives each slot a row of cells, one per cycle of a block, and runs
//! each operation over the whole block (see [`crate::engine`]); an operation's
//! state area holds its counters, accumulators and memories. Hardware decisions
//! an operation needs (whether accumulators are in block RAM, a bin count's
//! latency, a ROM's size) come from [`hissc_spn::plan`], as the VHDL's do.

#![allow(missing_docs)] // the fields of `Op` are named as in its variants' docs

use cranelift_entity::EntityRef;
use hissc_aop::types::numel;
use hissc_aop::{BinaryOp, CmpOp, DType, ReduceOp, UnaryOp};
use hissc_spn::{Network, ProcKind, Src};

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
    /// first count leaves [`hissc_spn::plan::Bincount::latency`] cycles later
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
    let alloc = |n: usize, state: &mut usize| {
        let at = *state;
        *state += n;
        at
    };
    for (b, node) in net.nodes.iter() {
        let dst = b.index() as u32;
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
            ProcKind::Reduce(op, d, a, shape, axes) => {
                let reduced: Vec<bool> = (0..shape.len())
                    .map(|i| axes.contains(&(i as u32)))
                    .collect();
                let (lines, line) = hissc_spn::sched::reduce_lines(shape, axes);
                let idx = alloc(shape.len(), &mut f.state);
                let acc = alloc(2 * lines as usize, &mut f.state);
                // with block RAM accumulators the output is registered once more
                let late = if hissc_spn::plan::reduce_in_ram(shape, axes) {
                    Some(alloc(2, &mut f.state))
                } else {
                    None
                };
                let flat = axes.len() == shape.len();
                if flat && !matches!(op, ReduceOp::ArgMax | ReduceOp::ArgMin) {
                    // the common case: one accumulator over the whole stream
                    let acc = alloc(2, &mut f.state);
                    f.ops.push(Op::ReduceAll(ReduceAll {
                        dst,
                        arg: a.index() as u32,
                        op: *op,
                        d: *d,
                        n: numel(shape) as i128,
                        acc,
                    }));
                    continue;
                }
                Op::Reduce(Reduce {
                    dst,
                    arg: a.index() as u32,
                    op: *op,
                    d: *d,
                    shape: shape.clone(),
                    reduced,
                    line,
                    flat,
                    idx,
                    acc,
                    late,
                })
            }
            ProcKind::Slice(a, shape, sel) => {
                let idx = alloc(shape.len(), &mut f.state);
                Op::Slice(Slice {
                    dst,
                    arg: a.index() as u32,
                    shape: shape.clone(),
                    sel: sel.clone(),
                    idx,
                })
            }
            ProcKind::Scan(d, a, count) => {
                let acc = alloc(1, &mut f.state);
                let cnt = alloc(1, &mut f.state);
                Op::Scan(Scan {
                    dst,
                    arg: a.index() as u32,
                    d: *d,
                    count: *count,
                    acc,
                    cnt,
                })
            }
            ProcKind::Lookup(t, a) => Op::Lookup {
                dst,
                v: valid_src(net, &[a]),
                table: t.clone(),
                a: opnd(a),
            },
            ProcKind::Bincount {
                x,
                weights,
                mask,
                bins,
                count,
                float,
            } => {
                let mem = alloc(2 * *bins as usize, &mut f.state);
                let state = alloc(4, &mut f.state);
                let slot = |b: &hissc_spn::Bus| b.index() as u32;
                let plan = hissc_spn::plan::bincount(net, b).expect("a bin count");
                Op::Bincount(Bincount {
                    dst,
                    x: slot(x),
                    w: weights.as_ref().map(slot),
                    m: mask.as_ref().map(slot),
                    bins: *bins,
                    count: *count,
                    float: *float,
                    start: 2 - plan.latency as i128,
                    mem,
                    state,
                })
            }
            ProcKind::Broadcast {
                arg,
                timing,
                from,
                to,
            } => {
                let len = numel(from) as u32;
                let mem = alloc(len as usize, &mut f.state);
                let wcnt = alloc(1, &mut f.state);
                let rcnt = alloc(to.len(), &mut f.state);
                let strides = hissc_spn::sched::broadcast_strides(from, to);
                Op::Broadcast(Broadcast {
                    dst,
                    arg: arg.index() as u32,
                    timing: timing.index() as u32,
                    mem,
                    len,
                    wcnt,
                    rcnt,
                    to: to.clone(),
                    strides,
                })
            }
            ProcKind::Pack { lanes, width, lane } => {
                let depth = hissc_spn::sched::pack_depth(net, lanes, *width) as usize;
                let buf = alloc(depth, &mut f.state);
                let held = alloc(1, &mut f.state);
                Op::Pack(Pack {
                    dst,
                    lanes: lanes.iter().map(|b| b.index() as u32).collect(),
                    width: *width,
                    lane: *lane,
                    buf,
                    held,
                })
            }
            ProcKind::Delay(a, n) => {
                let ring = alloc(2 * (*n as usize - 1), &mut f.state);
                let pos = alloc(1, &mut f.state);
                Op::Delay(Delay {
                    dst,
                    arg: a.index() as u32,
                    ring,
                    n: *n,
                    pos,
                })
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
