//! Row segments: one lane's part of a reduction over rows that straddle
//! cycles (a 514-wide detector row on 8 lanes ends on lane 1 of its 65th
//! cycle, and the next row begins on lane 2).
//!
//! Lane `lane` of `lanes` carries elements `q * lanes + lane` of a sequence of
//! rows of `width >= lanes` elements. A counter keeps the column `c0` of the
//! cycle's first element (lane 0's: it advances by `lanes` and wraps once at
//! most), and comparisons of it with constants tell, for this lane's element:
//!
//! - `c0 >= width - lane`: a row ended earlier in this very cycle, on a lower
//!   lane, and the element already belongs to the next row (the reduction of
//!   the ended row, finished in an earlier cycle, leaves now, and a new one
//!   starts from the element);
//! - `c0 < lanes - lane` (or the above): the element is the first of its row
//!   on this lane (the reduction restarts from it);
//! - `c0 >= width - lanes`: a row ends in this cycle; unless the element is
//!   already in the next row, it is the ended row's last on this lane (the
//!   reduction including it leaves now).
//!
//! So every lane emits in the cycles where some row ends — the same cycles on
//! every lane, since a row of at least `lanes` elements has at least one on
//! each — and a plain pipelined tree adds (or compares) the lanes' parts.

use crate::ir::{Bus, Network, Pattern, Sched, Segment};
use crate::proc::reduce::{accumulator_range, sum_wraps};
use hissc_aop::ReduceOp;

/// Whether the `q`-th cycle of a stream of rows of `width` elements, `lanes`
/// per cycle, holds the last element of a row.
pub fn row_ends(q: u32, width: u32, lanes: u32) -> bool {
    let (first, next) = (q as u64 * lanes as u64, (q as u64 + 1) * lanes as u64);
    next / width as u64 > first / width as u64
}

/// The schedule of a lane's segments: the arg's cycles that end a row, one
/// cycle later.
pub fn schedule(arg: &Sched, width: u32, lanes: u32) -> Sched {
    let Sched::Stream { t, pat } = arg else {
        return Sched::Static;
    };
    let kept = pat
        .positions()
        .enumerate()
        .filter(|&(q, _)| row_ends(q as u32, width, lanes))
        .map(|(_, p)| p);
    let (first, pat) = Pattern::from_positions(kept);
    Sched::Stream {
        t: t + first + 1,
        pat,
    }
}

/// The reductions a segment folds (the others are rewritten into these before
/// their lanes are segmented: a count of nonzero elements is a sum of 0/1s).
pub fn folds(op: ReduceOp) -> bool {
    matches!(
        op,
        ReduceOp::Sum | ReduceOp::Min | ReduceOp::Max | ReduceOp::Any | ReduceOp::All
    )
}

/// The verifier's rule: a stream of whole rows (its elements on all lanes make
/// whole rows every frame), rows at least as wide as the lanes.
pub fn check(net: &Network, p: &Segment, errs: &mut Vec<String>) -> Option<Sched> {
    let (op, arg, width) = (p.op, p.arg, p.width);
    let (lane, lanes) = (p.lane, p.lanes);
    let s = &net.nodes[arg].sched;
    let whole = (s.elements() as u64 * lanes as u64).is_multiple_of(width.max(1) as u64);
    if s.is_static() || !folds(op) || lane >= lanes || width < lanes || !whole {
        errs.push(format!(
            "segment.{} of lane {lane} of {lanes} over rows of {width} needs a stream of whole rows at least {lanes} wide",
            op.name()
        ));
        return None;
    }
    Some(schedule(s, width, lanes))
}

/// How a segment is built: its accumulator, and the comparisons of the column
/// `c0` of the cycle's first element (counted from 0 by `lanes`, wrapping at
/// `width`) that steer it (see the module's documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The accumulator's width in bits.
    pub acc_width: u32,
    /// Whether the sum can wrap (then it is kept at the dtype's width).
    pub wraps: bool,
    /// Elements per row: the counter wraps there.
    pub width: u32,
    /// Elements per cycle: the counter's step.
    pub lanes: u32,
    /// `c0 >= ends_from`: a row ends in this cycle (`width - lanes`).
    pub ends_from: u32,
    /// `c0 >= next_from`: the element already belongs to the next row (`width -
    /// lane`; never on lane 0).
    pub next_from: Option<u32>,
    /// `c0 < first_below` (or the above): the element is its row's first on
    /// this lane (`lanes - lane`).
    pub first_below: u32,
}

/// The plan of the segment `p`, process `b` of `net`.
pub fn plan(net: &Network, b: Bus, p: &Segment) -> Plan {
    let (op, d, arg) = (p.op, p.d, p.arg);
    let (width, lane, lanes) = (p.width, p.lane, p.lanes);
    // the most elements of one row on one lane
    let per_row = width.div_ceil(lanes) as i128;
    let a = net.nodes[arg].range;
    let acc = accumulator_range(op, d, a, net.nodes[b].range, per_row);
    Plan {
        acc_width: acc.signed_bits().max(2),
        wraps: op == ReduceOp::Sum && sum_wraps(d, a, per_row),
        width,
        lanes,
        ends_from: width - lanes,
        next_from: (lane > 0).then(|| width - lane),
        first_below: lanes - lane,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_514_on_8_lanes_end_every_64_or_65_cycles() {
        let ends: Vec<u32> = (0..1028).filter(|&q| row_ends(q, 514, 8)).collect();
        assert_eq!(ends.len(), 16);
        assert_eq!(&ends[..4], &[64, 128, 192, 256]);
        assert_eq!(*ends.last().unwrap(), 1027);
        // a row that ends on the last lane: the next begins on lane 0
        assert!(row_ends(3, 32, 8) && !row_ends(4, 32, 8));
    }
}
