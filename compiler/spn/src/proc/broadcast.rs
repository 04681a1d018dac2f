//! Broadcasts: a frame of shape `from` stored, and answered along a timing
//! stream of shape `to`.

use crate::ir::{Bus, Network, Sched};
use hissc_aop::types::numel;
use hissc_aop::verify::broadcastable;

/// For a broadcast from shape `from` to `to`: the stride in `from` of each axis
/// of `to` (0 where the axis is broadcast).
pub fn strides(from: &[u32], to: &[u32]) -> Vec<u32> {
    let off = to.len() - from.len();
    let mut strides = vec![0u32; to.len()];
    let mut s = 1u32;
    for d in (0..from.len()).rev() {
        if from[d] != 1 {
            strides[off + d] = s;
        }
        s *= from[d];
    }
    strides
}

/// The verifier's rule: a dense stream of the `from` shape and a dense timing
/// stream of the `to` shape that start in the same cycle; the result is the
/// timing stream one cycle later.
pub fn check(
    net: &Network,
    arg: Bus,
    timing: Bus,
    from: &[u32],
    to: &[u32],
    errs: &mut Vec<String>,
) -> Option<Sched> {
    let (sa, st) = (&net.nodes[arg].sched, &net.nodes[timing].sched);
    let dense = |s: &Sched, n: usize| *s == Sched::dense(n as u32, s.time());
    if sa.is_static() || st.is_static() || sa.time() != st.time() {
        errs.push(format!(
            "broadcast operands must be streams starting together: {sa:?}, {st:?}"
        ));
        None
    } else if !dense(sa, numel(from)) || !dense(st, numel(to)) || !broadcastable(from, to) {
        errs.push(format!(
            "cannot broadcast {from:?} ({sa:?}) to {to:?} ({st:?})"
        ));
        None
    } else {
        Some(st.delayed(1))
    }
}
