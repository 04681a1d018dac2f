//! `cumsum`: a running sum along a frame's elements, registered.

use crate::ir::{Bus, Network, Sched};

/// The verifier's rule: a stream of `count` elements; the sums leave one cycle
/// after each element.
pub fn check(net: &Network, a: Bus, count: u32, errs: &mut Vec<String>) -> Option<Sched> {
    match super::stream_of(net, a, count as usize) {
        Some(s) => Some(s.delayed(1)),
        None => {
            errs.push(format!("cumsum needs a stream of {count} elements"));
            None
        }
    }
}
