//! Bin counts (`np.bincount`, weighted or not): counters in two banks of block
//! RAM, one counting the frame that arrives while the other streams out.

use crate::ir::{Bincount, Network, Sched};
use hissc_aop::Interval;

/// Cycles from a frame's last element to its first bin count on the output:
/// the last increment is written one cycle after the element (block RAM read,
/// then write), the first count is read the cycle after that, and registered.
pub const LATENCY: u32 = 4;

/// Extra cycles of a weighted bin count: its sums become float64 in two pipeline
/// stages (find the leading one, then shift and pack).
pub const FLOAT_LATENCY: u32 = 2;

/// Cycles from a frame's last element to its first bin count on the output.
pub fn latency(weighted: bool) -> u32 {
    LATENCY + if weighted { FLOAT_LATENCY } else { 0 }
}

/// Bin counts stream out one per cycle, [`latency`] cycles after the frame's
/// last element.
pub fn schedule(arg: &Sched, bins: u32, weighted: bool) -> Sched {
    Sched::dense(bins, arg.last_time() + latency(weighted))
}

/// The verifier's rule: its operands share one schedule of `count` elements (a
/// float64 count has weights); the schedule is [`schedule`]'s.
pub fn check(net: &Network, p: &Bincount, errs: &mut Vec<String>) -> Option<Sched> {
    let (x, weights, mask) = (p.x, p.weights, p.mask);
    let (bins, count, float) = (p.bins, p.count, p.float);
    let s = net.nodes[x].sched.clone();
    let aligned = weights
        .iter()
        .chain(&mask)
        .all(|o| net.nodes[*o].sched == s);
    if float && weights.is_none() {
        errs.push("a float64 bincount without weights".into());
        None
    } else if s.is_static() || s.elements() != count || !aligned {
        errs.push(format!(
            "bincount needs aligned streams of {count} elements"
        ));
        None
    } else {
        Some(schedule(&s, bins, float))
    }
}

/// How a bin count is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
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

/// The plan of a bin count `p` of `net`.
pub fn plan(net: &Network, p: &Bincount) -> Plan {
    let (weights, count, bins) = (p.weights, p.count, p.bins);
    let float = p.float;
    let n = count as i128;
    let acc = match weights {
        Some(wb) => {
            let r = net.nodes[wb].range;
            Interval::new((r.lo * n).min(0), (r.hi * n).max(0))
        }
        None => Interval::new(0, n),
    };
    Plan {
        acc,
        acc_width: acc.signed_bits().max(2),
        depth: bins.next_power_of_two(),
        latency: latency(float),
    }
}
