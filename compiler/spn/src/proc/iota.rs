//! Flat indices: a counter of a stream's valid elements (`np.flatnonzero`'s
//! indices, read in step with the mask they index), or, wrapping at a row's
//! width, the columns of a lane's elements (the ranks of an `argmax` along rows
//! that straddle cycles).

use crate::ir::{Bus, Network, Sched};
use hissc_aop::Interval;

/// The schedule of an index stream: its timing stream, one cycle later.
pub fn schedule(timing: &Sched) -> Sched {
    timing.delayed(1)
}

/// The values a frame's indices take.
pub fn range(net: &Network, timing: Bus, first: u32, step: u32, wrap: Option<u32>) -> Interval {
    let n = net.nodes[timing].sched.elements().max(1) as i128;
    let last = first as i128 + (n - 1) * step as i128;
    match wrap {
        Some(w) if last >= w as i128 => Interval::new(0, w as i128 - 1),
        _ => Interval::new(first as i128, last),
    }
}

/// The verifier's rule: a stream to count, a step, a modulus above the first
/// value and the step, and a range that holds every index.
pub fn check(
    net: &Network,
    b: Bus,
    timing: Bus,
    (first, step, wrap): (u32, u32, Option<u32>),
    errs: &mut Vec<String>,
) -> Option<Sched> {
    let s = &net.nodes[timing].sched;
    if s.is_static() || step == 0 || wrap.is_some_and(|w| first >= w || step >= w) {
        errs.push(format!(
            "iota counts the static bus {timing}, steps by 0, or wraps below its first value or step"
        ));
        return None;
    }
    let r = range(net, timing, first, step, wrap);
    if !r.within(net.nodes[b].range) {
        errs.push(format!(
            "iota's indices {r} do not fit its range {}",
            net.nodes[b].range
        ));
    }
    Some(schedule(s))
}
