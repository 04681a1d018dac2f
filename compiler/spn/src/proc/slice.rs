//! Basic slices: the elements of a frame a `(start, step, count)` per axis picks.

use crate::ir::{Bus, Network, Sched};
use hissc_aop::types::numel;

/// A basic slice's schedule, per axis `(start, step, count)`: the picked
/// elements, one cycle later.
pub fn schedule(arg: &Sched, shape: &[u32], sel: &[(u32, u32, u32)]) -> Sched {
    super::filter(arg, shape, |idx| {
        idx.iter().zip(sel).all(|(&i, &s)| picks(i, s))
    })
}

/// Whether a basic slice `(start, step, count)` of one axis picks index `i`.
pub fn picks(i: u32, (start, step, count): (u32, u32, u32)) -> bool {
    i >= start && (i - start).is_multiple_of(step) && (i - start) / step < count
}

/// The verifier's rule: a stream with the elements of `shape`, one selection per
/// axis; the schedule is [`schedule`]'s.
pub fn check(
    net: &Network,
    a: Bus,
    shape: &[u32],
    sel: &[(u32, u32, u32)],
    errs: &mut Vec<String>,
) -> Option<Sched> {
    match super::stream_of(net, a, numel(shape)) {
        Some(s) if sel.len() == shape.len() => Some(schedule(&s, shape, sel)),
        _ => {
            errs.push(format!(
                "slice of {shape:?} needs a stream of {} elements",
                numel(shape)
            ));
            None
        }
    }
}
