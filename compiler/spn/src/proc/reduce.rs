//! Reductions (`sum`, `min`, `max`, `argmax`, `any`, ... over axes): one
//! accumulator per output still being reduced, in registers or block RAM.

use crate::ir::{Bus, Network, Reduce, Sched};
use hissc_aop::passes::ranges::sum_exact;
use hissc_aop::types::numel;
use hissc_aop::{DType, Interval, ReduceOp};

/// The accumulators a reduction over `axes` keeps: one per output still being
/// summed (the kept axes inside the outermost reduced one), and each kept axis's
/// stride among them (0 for the others).
pub fn lines(shape: &[u32], axes: &[u32]) -> (u32, Vec<u32>) {
    let outer = axes.first().map_or(0, |&a| a as usize);
    let mut line = vec![0u32; shape.len()];
    let mut lines = 1u32;
    for i in (outer..shape.len()).rev() {
        if !axes.contains(&(i as u32)) {
            line[i] = lines;
            lines *= shape[i];
        }
    }
    (lines, line)
}

/// Whether a reduction of `shape` over `axes` keeps its accumulators in block
/// RAM (more than one of them).
pub fn in_ram(shape: &[u32], axes: &[u32]) -> bool {
    lines(shape, axes).0 > 1
}

/// A reduction's schedule: its outputs leave with the last element of each
/// group, one cycle later when the accumulators live in block RAM.
pub fn schedule(arg: &Sched, shape: &[u32], axes: &[u32]) -> Sched {
    let s = super::filter(arg, shape, |idx| {
        axes.iter()
            .all(|&a| idx[a as usize] + 1 == shape[a as usize])
    });
    if in_ram(shape, axes) {
        s.delayed(1)
    } else {
        s
    }
}

/// The verifier's rule: a stream with the elements of `shape`, reduced over
/// ascending axes of it; the schedule is [`schedule`]'s.
pub fn check(net: &Network, p: &Reduce, errs: &mut Vec<String>) -> Option<Sched> {
    let (a, shape, axes) = (p.arg, &p.shape[..], &p.axes[..]);
    match super::stream_of(net, a, numel(shape)) {
        Some(s)
            if !axes.is_empty()
                && axes.windows(2).all(|w| w[0] < w[1])
                && axes.iter().all(|&x| (x as usize) < shape.len()) =>
        {
            Some(schedule(&s, shape, axes))
        }
        _ => {
            errs.push(format!(
                "reduce of {shape:?} over {axes:?} needs a stream of {} elements",
                numel(shape)
            ));
            None
        }
    }
}

/// How a reduction is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Accumulators: one per output still being reduced ([`lines`]).
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
pub fn sum_wraps(d: DType, arg: Interval, n: i128) -> bool {
    sum_exact(arg, n).is_none_or(|x| !x.within(Interval::of(d)))
}

/// The plan of the reduction `p`, process `b` of `net`.
pub fn plan(net: &Network, b: Bus, p: &Reduce) -> Plan {
    let Reduce {
        op,
        dtype: d,
        arg: a,
        shape,
        axes,
    } = p;
    let (lines, line) = lines(shape, axes);
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
    Plan {
        lines,
        line,
        in_ram: in_ram(shape, axes),
        per_output,
        acc,
        acc_width: acc.signed_bits().max(2),
        wraps: *op == ReduceOp::Sum && sum_wraps(*d, arg, per_output),
    }
}
