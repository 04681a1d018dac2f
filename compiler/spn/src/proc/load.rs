//! Loads: a state's memory, read along a timing stream and written back from the
//! state's `next` output.
//!
//! State `s` with `n` elements in `L` banks: bank `l` holds elements `q * L + l`.
//! A `load` of bank `l` reads its next element for each valid element of its
//! timing stream (address presented in that cycle, data one cycle later); the
//! bank is written, element after element, in the cycles where lane `l` of the
//! state's `next` output is valid. Within a frame every element is read no later
//! than it is written ([`settle`] delays the `next` stream where it would be
//! earlier), and a frame's write of an element comes before the next frame's read
//! of it ([`min_period`] stretches the frame period where a frame is shorter than
//! the path from read to write). Both conditions are checked by [`check_states`];
//! the simulator's block length is bounded by [`slack`].

use crate::ir::{Bus, Network, ProcKind, Sched};
use hissc_aop::types::numel;
use std::collections::HashMap;

/// The schedule of a load: its timing stream, one cycle later.
pub fn schedule(timing: &Sched) -> Sched {
    timing.delayed(1)
}

/// Elements of each bank of state `s`.
pub fn bank_depth(net: &Network, s: usize) -> u32 {
    let st = &net.states[s];
    numel(&st.shape) as u32 / st.lanes.max(1)
}

/// The verifier's rule for one load: a known state and bank, a timing stream
/// with one element per element of the bank.
pub fn check(
    net: &Network,
    state: u32,
    lane: u32,
    timing: Bus,
    errs: &mut Vec<String>,
) -> Option<Sched> {
    let Some(st) = net.states.get(state as usize) else {
        errs.push(format!("load of state {state}, which does not exist"));
        return None;
    };
    if lane >= st.lanes {
        errs.push(format!(
            "load of bank {lane} of `{}`, which has {} banks",
            st.name, st.lanes
        ));
        return None;
    }
    let s = &net.nodes[timing].sched;
    let depth = bank_depth(net, state as usize);
    if s.is_static() || s.elements() != depth {
        errs.push(format!(
            "load timing {timing} carries {} elements per frame, bank of `{}` holds {depth}",
            s.elements(),
            st.name
        ));
        return None;
    }
    Some(schedule(s))
}

/// Each load of the network: (bus, state, bank, cycles its reads happen in a frame).
fn loads(net: &Network) -> Vec<(Bus, usize, usize, Vec<u32>)> {
    net.nodes
        .iter()
        .filter_map(|(b, n)| match n.kind {
            ProcKind::Load {
                state,
                lane,
                timing,
            } => Some((
                b,
                state as usize,
                lane as usize,
                net.nodes[timing].sched.cycles(),
            )),
            _ => None,
        })
        .collect()
}

/// The cycles (relative to a frame start) in which bank `lane` of state `s` is written.
fn writes(net: &Network, s: usize, lane: usize) -> Option<Vec<u32>> {
    let o = net.outputs.get(net.states[s].next as usize)?;
    let b = *o.lanes.get(lane)?;
    Some(net.nodes.get(b)?.sched.cycles())
}

/// The fewest cycles between frame starts for which every write of a state
/// element comes before the next frame's read of it, and every join's elements
/// leave before the next frame's arrive ([`super::merge::period_needed`]; 0
/// without states or joins).
pub fn min_period(net: &Network) -> u32 {
    let mut p = 0u32;
    let input = net
        .inputs
        .iter()
        .map(|i| (numel(&i.shape) as u32).div_ceil(i.lanes.max(1)))
        .max()
        .unwrap_or(1);
    for n in net.nodes.values() {
        if let ProcKind::Merge { srcs, blocks, reps } = &n.kind {
            let need = super::merge::period_needed(net, srcs, blocks, *reps);
            if need > input {
                p = p.max(need);
            }
        }
    }
    for (_, s, lane, reads) in loads(net) {
        if let Some(w) = writes(net, s, lane) {
            for (r, w) in reads.iter().zip(&w) {
                p = p.max((w + 1).saturating_sub(*r));
            }
        }
    }
    p
}

/// The fewest cycles between a write of a state element and the next frame's
/// read of it, at the network's frame period: the simulator evaluates at most
/// this many cycles at once, so a read never needs a write of its own block.
pub fn slack(net: &Network) -> Option<u32> {
    let period = net.frame_period();
    loads(net)
        .into_iter()
        .filter_map(|(_, s, lane, reads)| {
            let w = writes(net, s, lane)?;
            reads
                .iter()
                .zip(&w)
                .map(|(r, w)| (period + r).saturating_sub(*w))
                .min()
        })
        .min()
}

/// Makes the states' timing hold: delays each state's `next` stream so that no
/// element is written before this frame has read it, then sets the period that
/// lets every write land before the next frame's read.
pub fn settle(net: &mut Network) {
    // how late each state's writes must come, from one pass over the loads
    let mut late = vec![0u32; net.states.len()];
    for (_, s, lane, reads) in loads(net) {
        if let Some(w) = writes(net, s, lane) {
            for (r, w) in reads.iter().zip(&w) {
                late[s] = late[s].max(r.saturating_sub(*w));
            }
        }
    }
    let mut memo = HashMap::new();
    for (s, late) in late.into_iter().enumerate() {
        if late > 0 {
            let o = net.states[s].next as usize;
            let lanes = net.outputs[o].lanes.clone();
            net.outputs[o].lanes = lanes
                .into_iter()
                .map(|b| net.delayed(&mut memo, b, late))
                .collect();
        }
    }
    net.min_period = min_period(net);
}

/// The verifier's rules for the states as a whole: each has a `next` output of
/// its dtype and shape with one stream per bank, at most one load per bank, and
/// reads and writes in the order [`settle`] establishes.
pub fn check_states(net: &Network, errs: &mut Vec<String>) {
    let first_state_output = net.outputs.len().saturating_sub(net.states.len());
    let all = loads(net);
    for (s, st) in net.states.iter().enumerate() {
        let Some(o) = net.outputs.get(st.next as usize) else {
            errs.push(format!("state `{}` has no next output", st.name));
            continue;
        };
        if st.next as usize != first_state_output + s {
            errs.push(format!(
                "state `{}`'s next output is not after the kernel's outputs, in order",
                st.name
            ));
        }
        if o.dtype != st.dtype || o.shape != st.shape || o.lanes.len() as u32 != st.lanes {
            errs.push(format!(
                "state `{}` ({} {:?} in {} banks) has next output `{}` ({} {:?} in {} lanes)",
                st.name,
                st.dtype,
                st.shape,
                st.lanes,
                o.name,
                o.dtype,
                o.shape,
                o.lanes.len()
            ));
            continue;
        }
        let n = numel(&st.shape) as u32;
        if st.lanes == 0 || !n.is_multiple_of(st.lanes) {
            errs.push(format!(
                "state `{}`: {n} elements in {} banks",
                st.name, st.lanes
            ));
            continue;
        }
        let mut seen = vec![false; st.lanes as usize];
        for (b, _, lane, reads) in all.iter().filter(|l| l.1 == s) {
            let (b, lane) = (*b, *lane);
            if std::mem::replace(&mut seen[lane], true) {
                errs.push(format!(
                    "{b}: a second load of bank {lane} of `{}`",
                    st.name
                ));
            }
            let Some(w) = writes(net, s, lane) else {
                continue;
            };
            if w.len() != reads.len() {
                errs.push(format!(
                    "{b}: bank {lane} of `{}` is read {} times and written {} times per frame",
                    st.name,
                    reads.len(),
                    w.len()
                ));
            }
            if let Some(k) = reads.iter().zip(&w).position(|(r, w)| r > w) {
                errs.push(format!(
                    "{b}: element {k} of bank {lane} of `{}` is written (cycle {}) before it is read (cycle {})",
                    st.name, w[k], reads[k]
                ));
            }
        }
    }
    let need = min_period(net);
    if net.frame_period() < need || net.min_period != need {
        errs.push(format!(
            "the states and joins need a frame period of at least {need} cycles; the network says {} (frame period {})",
            net.min_period,
            net.frame_period()
        ));
    }
}
