//! What a process network costs in hardware, estimated before synthesis.
//!
//! Per process: the flip-flops it keeps (its output register, counters,
//! accumulators, queues, shift registers), the memories it keeps (words ×
//! bits, which go to block RAM when large), and its multipliers. The counts
//! follow the VHDL back end's structure and read its decisions from the same
//! places ([`proc::delay::in_ram`], [`proc::pack::depth`], the plans in [`proc`] of
//! reductions, bin counts and tables), so the estimate and
//! the design cannot disagree about where a value lives. The flip-flop count
//! is a lower bound on the logic cells a design needs (an iCE40 logic cell has
//! one flip-flop); `hissc build` fails on it in seconds, before synthesis, when
//! it is already more than the device has.

use crate::ir::{Bus, Network, ProcKind, Src};
use crate::proc;
use hissc_aop::BinaryOp;

/// A memory: `words` words of `bits` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memory {
    /// Words.
    pub words: u64,
    /// Bits per word.
    pub bits: u32,
}

impl Memory {
    /// Total bits.
    pub fn size(self) -> u64 {
        self.words * self.bits as u64
    }
}

/// Memories smaller than this many bits are assumed to stay in logic (their
/// bits are counted as flip-flops); larger ones go to block RAM.
pub const MEMORY_BITS: u64 = 1024;

/// The hardware one process keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Flip-flops (registers, counters, small memories).
    pub flip_flops: u64,
    /// Memories of at least [`MEMORY_BITS`] bits.
    pub memories: Vec<Memory>,
    /// Multipliers, as `(bits, bits)` of their operands.
    pub multipliers: Vec<(u32, u32)>,
    /// Look-up tables of selection logic at least (a gearbox's queue slots,
    /// each choosing among the lanes that may write it).
    pub selects: u64,
}

impl Cost {
    /// A memory the VHDL writes as a synchronous RAM (registered read): synthesis
    /// puts it in block RAM (or, on the ECP5, LUT RAM) whatever its size, so
    /// none of its bits are flip-flops.
    fn ram(&mut self, words: u64, bits: u32) {
        self.memories.push(Memory { words, bits });
    }

    /// A table or buffer: in block RAM from [`MEMORY_BITS`], else registers.
    fn memory(&mut self, words: u64, bits: u32) {
        let m = Memory { words, bits };
        if m.size() >= MEMORY_BITS {
            self.memories.push(m);
        } else {
            self.flip_flops += m.size();
        }
    }

    /// Logic cells the process needs at least: a flip-flop each, and an iCE40
    /// logic cell per partial product of a multiplier built from logic, and
    /// its selection logic's look-up tables.
    pub fn logic_cells(&self) -> u64 {
        self.flip_flops
            + self.selects
            + self
                .multipliers
                .iter()
                .map(|&(a, b)| a as u64 * b as u64)
                .sum::<u64>()
    }

    /// Total memory bits.
    pub fn memory_bits(&self) -> u64 {
        self.memories.iter().map(|m| m.size()).sum()
    }
}

/// Bits to count to `n - 1`.
fn counter(n: u64) -> u64 {
    (64 - n.saturating_sub(1).leading_zeros()) as u64
}

/// Counters over the axes of a stream of `shape` (one per axis).
fn counters(shape: &[u32]) -> u64 {
    shape.iter().map(|&d| counter(d as u64)).sum()
}

/// The estimate of one process.
pub fn process(net: &Network, b: Bus) -> Cost {
    let n = &net.nodes[b];
    let mut c = Cost::default();
    if net.is_comb(b) {
        return c;
    }
    let w = n.width;
    // the output register and its valid flag
    c.flip_flops = w as u64 + 1;
    let pow2 = |s: &Src| matches!(s, Src::Const(k) if *k > 0 && (*k as u128).is_power_of_two());
    let width = |s: &Src| match s {
        Src::Bus(x) => Some(net.nodes[*x].width),
        Src::Const(_) => None,
    };
    match &n.kind {
        ProcKind::Input(..) | ProcKind::Param(_) => c.flip_flops = 0,
        ProcKind::Unary(..) | ProcKind::Compare(..) | ProcKind::Select(..) | ProcKind::Cast(..) => {
        }
        ProcKind::Binary(op, _, x, y) => match (op, width(x), width(y)) {
            (BinaryOp::Mul, Some(a), Some(b)) => c.multipliers.push((a, b)),
            // by a power of two: a shift, or the low bits
            (BinaryOp::Mul, _, _) if pow2(x) || pow2(y) => {}
            (BinaryOp::FloorDiv | BinaryOp::Mod, _, _) if pow2(y) => {}
            (BinaryOp::Mul | BinaryOp::FloorDiv | BinaryOp::Mod, Some(a), None)
            | (BinaryOp::Mul, None, Some(a)) => {
                // by a constant: a multiplier by a constant of about the same width
                c.multipliers.push((a, a.min(w + 1)))
            }
            _ => {}
        },
        ProcKind::Lookup(table, _) => c.memory(proc::elementwise::rom_size(table.len()) as u64, w),
        ProcKind::Float(_) => c.flip_flops += 2 * 64,
        ProcKind::Reduce(r) => {
            let shape = &r.shape;
            let p = proc::reduce::plan(net, b, r);
            if p.in_ram {
                c.ram(p.lines as u64, p.acc_width);
            }
            // the accumulator (or the block RAM's read stage) and the counters
            c.flip_flops += p.acc_width as u64 + counters(shape);
        }
        ProcKind::Slice(_, shape, _) => c.flip_flops += counters(shape),
        ProcKind::Segment(seg) => {
            let width = &seg.width;
            let p = proc::segment::plan(net, b, seg);
            // the accumulator and the column counter
            c.flip_flops += p.acc_width as u64 + counter(*width as u64);
        }
        ProcKind::Scan(_, _, count) => c.flip_flops += w as u64 + counter(*count as u64),
        ProcKind::Bincount(bc) => {
            let count = &bc.count;
            let p = proc::bincount::plan(net, bc);
            let wacc = p.acc_width;
            // two banks (count one frame, stream out the other), each a
            // synchronous RAM in the VHDL
            for _ in 0..2 {
                c.ram(p.depth as u64, wacc);
            }
            c.flip_flops += 4 * wacc as u64 + 2 * counter(*count as u64);
        }
        ProcKind::Pack { lanes, width, .. } => {
            // one queue per gearbox, kept by its first lane's process
            if proc::pack::leader(net, lanes, *width) == Some(b) {
                let depth = proc::pack::depth(net, lanes, *width) as u64;
                c.flip_flops += (depth + 1) * w as u64 + counter(depth + 1);
                // every slot's bit chooses among the lanes (a 4-input LUT
                // takes three more of them)
                c.selects += (depth + 1) * w as u64 * (lanes.len() as u64).div_ceil(3);
            }
        }
        ProcKind::Broadcast(bc) => {
            let to = &bc.to;
            let p = proc::broadcast::plan(net, bc);
            let words = p.words as u64;
            c.memory(p.banks as u64 * words, w);
            c.flip_flops += counters(to) + counter(words);
            if p.banks > 1 {
                // the banks' bits and the read counter
                c.flip_flops += 2 + counter(p.reads as u64);
            }
        }
        ProcKind::Merge { srcs, blocks, reps } => {
            let d: u32 = proc::merge::depths(net, srcs, blocks, *reps).iter().sum();
            c.flip_flops += d as u64 * (w as u64 + 1) + 2 * counter(d as u64 + 1);
        }
        ProcKind::Iota { timing, .. } => {
            c.flip_flops += counter(net.nodes[*timing].sched.elements() as u64)
        }
        ProcKind::Load { state, .. } => {
            let depth = proc::load::bank_depth(net, *state as usize) as u64;
            c.memory(depth, w);
            // read, write and host-load counters
            c.flip_flops += 3 * counter(depth);
        }
        ProcKind::Delay(_, d) => {
            if proc::delay::in_ram(*d, w) {
                c.memory(*d as u64 - 1, w + 1);
                c.flip_flops += 2 * counter(*d as u64) + 1;
            } else {
                c.flip_flops = *d as u64 * (w as u64 + 1);
            }
        }
    }
    c
}

/// The estimate of a whole network, process by process.
#[derive(Clone, Debug)]
pub struct Estimate {
    /// Every process that keeps hardware, with its cost.
    pub processes: Vec<(Bus, Cost)>,
}

impl Estimate {
    /// Flip-flops in all.
    pub fn flip_flops(&self) -> u64 {
        self.processes.iter().map(|(_, c)| c.flip_flops).sum()
    }

    /// Logic cells at least (flip-flops, and multipliers built from logic).
    pub fn logic_cells(&self) -> u64 {
        self.processes.iter().map(|(_, c)| c.logic_cells()).sum()
    }

    /// Every memory.
    pub fn memories(&self) -> impl Iterator<Item = Memory> + '_ {
        self.processes
            .iter()
            .flat_map(|(_, c)| c.memories.iter().copied())
    }

    /// Memory bits in all.
    pub fn memory_bits(&self) -> u64 {
        self.memories().map(Memory::size).sum()
    }

    /// Look-up tables of selection logic in all.
    pub fn selects(&self) -> u64 {
        self.processes.iter().map(|(_, c)| c.selects).sum()
    }

    /// Multipliers in all.
    pub fn multipliers(&self) -> usize {
        self.processes
            .iter()
            .map(|(_, c)| c.multipliers.len())
            .sum()
    }
}

/// Estimates every process of `net`.
pub fn estimate(net: &Network) -> Estimate {
    Estimate {
        processes: net
            .nodes
            .keys()
            .map(|b| (b, process(net, b)))
            .filter(|(_, c)| *c != Cost::default())
            .collect(),
    }
}
