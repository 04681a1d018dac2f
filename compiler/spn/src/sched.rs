//! Schedules of the processes that change which cycles carry elements: the
//! lowering computes them and the verifier checks them with the same functions.

use crate::ir::{Pattern, Sched};

/// The multi-index of every element of `shape`, in C order, with its rank.
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

/// A reduction over `axes`: its outputs leave with the last element of each group.
pub fn reduce(arg: &Sched, shape: &[u32], axes: &[u32]) -> Sched {
    filter(arg, shape, |idx| {
        axes.iter()
            .all(|&a| idx[a as usize] + 1 == shape[a as usize])
    })
}

/// A basic slice, per axis `(start, step, count)`.
pub fn slice(arg: &Sched, shape: &[u32], sel: &[(u32, u32, u32)]) -> Sched {
    filter(arg, shape, |idx| {
        idx.iter()
            .zip(sel)
            .all(|(&i, &(s, st, c))| i >= s && (i - s).is_multiple_of(st) && (i - s) / st < c)
    })
}

/// Bin counts stream out one per cycle, starting two cycles after the last element.
pub fn bincount(arg: &Sched, bins: u32) -> Sched {
    Sched::dense(bins, arg.last_time() + 2)
}
