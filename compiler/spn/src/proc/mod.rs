//! One module per process kind: how its schedule follows from its operands',
//! the verifier's rule for it, and its hardware plan (where its state lives,
//! how wide, how deep, how long it waits). The lowering computes schedules
//! here, the verifier checks them with the same functions, and the simulator,
//! the VHDL back end and the cost model read the plans, so no stage recomputes
//! a hardware decision. Adding a kind means a module here and one arm in each
//! stage's match on [`crate::ProcKind`] (none of which has a catch-all arm).

pub mod bincount;
pub mod broadcast;
pub mod delay;
pub mod elementwise;
pub mod iota;
pub mod load;
pub mod merge;
pub mod pack;
pub mod ports;
pub mod reduce;
pub mod scan;
pub mod segment;
pub mod slice;

use crate::ir::{Pattern, Sched};

/// The multi-index of position `i` in `shape` (C order).
pub fn unravel(mut i: u32, shape: &[u32]) -> Vec<u32> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = i % shape[d];
        i /= shape[d];
    }
    idx
}

/// The multi-index of every element of `shape`, in C order.
fn each_index(shape: &[u32], mut f: impl FnMut(&[u32])) {
    let n: u64 = shape.iter().map(|&d| d as u64).product();
    let mut idx = vec![0u32; shape.len()];
    for _ in 0..n {
        f(&idx);
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// The stream of the elements of `arg` (logical shape `shape`) for which `keep`
/// holds, one cycle later (a registered process).
fn filter(arg: &Sched, shape: &[u32], mut keep: impl FnMut(&[u32]) -> bool) -> Sched {
    let Sched::Stream { t, pat } = arg else {
        return Sched::Static;
    };
    let mut positions = pat.positions();
    let mut kept = Vec::new();
    each_index(shape, |idx| {
        let p = positions.next().unwrap_or(0);
        if keep(idx) {
            kept.push(p);
        }
    });
    let (first, pat) = Pattern::from_positions(kept);
    Sched::Stream {
        t: t + first + 1,
        pat,
    }
}

/// A stream operand's schedule when it carries exactly `n` elements per frame.
fn stream_of(net: &crate::Network, x: crate::Bus, n: usize) -> Option<Sched> {
    let s = net.nodes[x].sched.clone();
    (!s.is_static() && s.elements() as usize == n).then_some(s)
}
