//! Hardware plans: the decisions about how a process is built that more than
//! one stage needs (where accumulators live, how wide they are, how deep a
//! table or a counting memory is, how long a pipeline waits). The lowering, the
//! simulator, the VHDL back end and the cost model read them here, so they
//! cannot drift apart; only a GHDL run would otherwise catch a drift.

use crate::ir::{Bus, Network, ProcKind};
use crate::sched;
use hissc_aop::passes::ranges::sum_exact;
use hissc_aop::{DType, Interval, ReduceOp};

/// How a reduction is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reduce {
    /// Accumulators: one per output still being reduced
    /// ([`sched::reduce_lines`]).
    pub lines: u32,
    /// Each axis's stride among the accumulators (0 for the reduced axes).
    pub line: Vec<u32>,
    /// More than one accumulator: they live in block RAM, read in one cycle and
    /// written back in the next, and the output leaves one cycle later.
    pub in_ram: bool,
    /// Elements reduced into each output.
    pub per_output: i128,
    /// The values an accumulator holds.
    pub acc: Interval,
    /// Its width in bits.
    pub acc_width: u32,
    /// Whether the sum can wrap (then it is kept at the dtype's width).
    pub wraps: bool,
}

/// Whether a reduction of `shape` over `axes` keeps its accumulators in block RAM.
pub fn reduce_in_ram(shape: &[u32], axes: &[u32]) -> bool {
    sched::reduce_lines(shape, axes).0 > 1
}

/// The values a reduction's accumulator can hold (for its width in hardware).
pub fn accumulator_range(
    op: ReduceOp,
    d: DType,
    arg: Interval,
    result: Interval,
    n: i128,
) -> Interval {
    match op {
        ReduceOp::Sum if sum_wraps(d, arg, n) => Interval::of(d),
        ReduceOp::Sum => result.union(arg),
        ReduceOp::Min | ReduceOp::Max | ReduceOp::ArgMax | ReduceOp::ArgMin => arg,
        ReduceOp::Any | ReduceOp::All => Interval::new(0, 1),
        ReduceOp::CountNonzero => Interval::new(0, n),
    }
}

/// Whether a sum of `n` values in `arg` can leave dtype `d` (and wraps).
fn sum_wraps(d: DType, arg: Interval, n: i128) -> bool {
    sum_exact(arg, n).is_none_or(|x| !x.within(Interval::of(d)))
}

/// The plan of the reduction process `b`.
pub fn reduce(net: &Network, b: Bus) -> Option<Reduce> {
    let ProcKind::Reduce(op, d, a, shape, axes) = &net.nodes[b].kind else {
        return None;
    };
    let (lines, line) = sched::reduce_lines(shape, axes);
    let total: i128 = shape.iter().map(|&x| x as i128).product();
    let kept: i128 = shape
        .iter()
        .enumerate()
        .filter(|(i, _)| !axes.contains(&(*i as u32)))
        .map(|(_, &x)| x as i128)
        .product();
    let per_output = total / kept.max(1);
    let arg = net.nodes[*a].range;
    let acc = accumulator_range(*op, *d, arg, net.nodes[b].range, per_output);
    Some(Reduce {
        lines,
        line,
        in_ram: reduce_in_ram(shape, axes),
        per_output,
        acc,
        acc_width: acc.signed_bits().max(2),
        wraps: *op == ReduceOp::Sum && sum_wraps(*d, arg, per_output),
    })
}

/// Entries of the ROM that holds a table of `len` entries: a power of two, so
/// that the index's low bits address it (the index is in range whenever it is
/// valid, and any value reads something otherwise).
pub fn rom_size(len: usize) -> usize {
    len.max(2).next_power_of_two()
}

/// How a bin count is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bincount {
    /// What a counter holds: a frame's count, or its weights summed.
    pub acc: Interval,
    /// The counters' width in bits.
    pub acc_width: u32,
    /// Words of each of the two banks (one counts, the other streams out): a
    /// power of two, so every address a netlist can form is in range.
    pub depth: u32,
    /// Cycles from a frame's last element to its first count on the output.
    pub latency: u32,
}

/// The plan of the bin-count process `b`.
pub fn bincount(net: &Network, b: Bus) -> Option<Bincount> {
    let ProcKind::Bincount {
        weights,
        count,
        bins,
        float,
        ..
    } = net.nodes[b].kind
    else {
        return None;
    };
    let n = count as i128;
    let acc = match weights {
        Some(wb) => {
            let r = net.nodes[wb].range;
            Interval::new((r.lo * n).min(0), (r.hi * n).max(0))
        }
        None => Interval::new(0, n),
    };
    Some(Bincount {
        acc,
        acc_width: acc.signed_bits().max(2),
        depth: bins.next_power_of_two(),
        latency: sched::bincount_latency(float),
    })
}
