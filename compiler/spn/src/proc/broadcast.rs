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

/// The element of `from` that each element of `to` (C order) reads.
fn sources(from: &[u32], to: &[u32]) -> Vec<usize> {
    let strides = strides(from, to);
    let mut out = Vec::with_capacity(numel(to));
    let mut idx = vec![0u32; to.len()];
    for _ in 0..numel(to) {
        out.push(
            idx.iter()
                .zip(&strides)
                .map(|(&i, &s)| (i * s) as usize)
                .sum(),
        );
        for d in (0..to.len()).rev() {
            idx[d] += 1;
            if idx[d] < to[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// How many cycles the timing stream must wait so that every element is read no
/// earlier than the cycle its source element is stored (0 when a row or column
/// of the input is broadcast against the input itself; a row's or frame's
/// reduction broadcast back onto it waits for the row or frame: a row or frame
/// buffer).
pub fn lag(arg: &Sched, timing: &Sched, from: &[u32], to: &[u32]) -> u32 {
    let (w, r) = (arg.cycles(), timing.cycles());
    sources(from, to)
        .iter()
        .zip(&r)
        .map(|(&src, &rd)| w.get(src).map_or(0, |&wr| wr.saturating_sub(rd)))
        .max()
        .unwrap_or(0)
}

/// The verifier's rule: a stored stream of the `from` shape and a timing stream
/// of the `to` shape (each with one frame's elements) such that every element
/// is read at or after the cycle its source is stored, and before the next
/// frame stores over it; the result is the timing stream one cycle later.
pub fn check(
    net: &Network,
    arg: Bus,
    timing: Bus,
    from: &[u32],
    to: &[u32],
    errs: &mut Vec<String>,
) -> Option<Sched> {
    let (sa, st) = (&net.nodes[arg].sched, &net.nodes[timing].sched);
    if sa.is_static()
        || st.is_static()
        || sa.elements() as usize != numel(from)
        || st.elements() as usize != numel(to)
        || !broadcastable(from, to)
    {
        errs.push(format!(
            "cannot broadcast {from:?} ({sa:?}) to {to:?} ({st:?})"
        ));
        return None;
    }
    if let Some(why) = conflict(sa, st, from, to, net.frame_period()) {
        errs.push(why);
        return None;
    }
    Some(st.delayed(1))
}

/// Why a broadcast stored along `arg` and read along `timing` would read an
/// element before it is stored, or after the next frame (`period` cycles later)
/// stores over it; `None` when every read is in time.
pub fn conflict(
    arg: &Sched,
    timing: &Sched,
    from: &[u32],
    to: &[u32],
    period: u32,
) -> Option<String> {
    let (w, r) = (arg.cycles(), timing.cycles());
    let mut last = vec![None; w.len()];
    for (&src, &rd) in sources(from, to).iter().zip(&r) {
        if rd < w[src] {
            return Some(format!(
                "broadcast reads element {src} in cycle {rd}, before it is stored (cycle {})",
                w[src]
            ));
        }
        last[src] = Some(rd);
    }
    for (src, l) in last.iter().enumerate() {
        if let Some(l) = l {
            if *l >= w[src] + period {
                return Some(format!(
                    "broadcast reads element {src} in cycle {l}, after the next frame stores over it (cycle {})",
                    w[src] + period
                ));
            }
        }
    }
    None
}
