//! Flat indices: a counter of a stream's valid elements (`np.flatnonzero`'s
//! indices, read in step with the mask they index).

use crate::ir::{Bus, Network, Sched};
use hissc_aop::Interval;

/// The schedule of an index stream: its timing stream, one cycle later.
pub fn schedule(timing: &Sched) -> Sched {
    timing.delayed(1)
}

/// The values a frame's indices take.
pub fn range(net: &Network, timing: Bus, first: u32, step: u32) -> Interval {
    let n = net.nodes[timing].sched.elements().max(1) as i128;
    Interval::new(first as i128, first as i128 + (n - 1) * step as i128)
}

/// The verifier's rule: a stream to count, and a range that holds every index.
pub fn check(
    net: &Network,
    b: Bus,
    timing: Bus,
    first: u32,
    step: u32,
    errs: &mut Vec<String>,
) -> Option<Sched> {
    let s = &net.nodes[timing].sched;
    if s.is_static() || step == 0 {
        errs.push(format!("iota counts the static bus {timing} or steps by 0"));
        return None;
    }
    if !range(net, timing, first, step).within(net.nodes[b].range) {
        errs.push(format!(
            "iota's indices {} do not fit its range {}",
            range(net, timing, first, step),
            net.nodes[b].range
        ));
    }
    Some(schedule(s))
}
