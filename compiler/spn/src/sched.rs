//! Schedules of the processes that change which cycles carry elements: the
//! lowering computes them and the verifier checks them with the same functions.

use crate::ir::{Bus, Network, Pattern, Sched};

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

/// The accumulators a reduction over `axes` keeps: one per output still being
/// summed (the kept axes inside the outermost reduced one), and each kept axis's
/// stride among them (0 for the others).
pub fn reduce_lines(shape: &[u32], axes: &[u32]) -> (u32, Vec<u32>) {
    let outer = axes.first().map_or(0, |&a| a as usize);
    let mut line = vec![0u32; shape.len()];
    let mut lines = 1u32;
    for i in (outer..shape.len()).rev() {
        if !axes.contains(&(i as u32)) {
            line[i] = lines;
            lines *= shape[i];
        }
    }
    (lines, line)
}

/// A reduction over `axes`: its outputs leave with the last element of each group,
/// one cycle later when the accumulators live in block RAM (more than one line).
pub fn reduce(arg: &Sched, shape: &[u32], axes: &[u32]) -> Sched {
    let s = filter(arg, shape, |idx| {
        axes.iter()
            .all(|&a| idx[a as usize] + 1 == shape[a as usize])
    });
    if crate::plan::reduce_in_ram(shape, axes) {
        s.delayed(1)
    } else {
        s
    }
}

/// A basic slice, per axis `(start, step, count)`.
pub fn slice(arg: &Sched, shape: &[u32], sel: &[(u32, u32, u32)]) -> Sched {
    filter(arg, shape, |idx| {
        idx.iter().zip(sel).all(|(&i, &s)| picks(i, s))
    })
}

/// Whether a basic slice `(start, step, count)` of one axis picks index `i`.
pub fn picks(i: u32, (start, step, count): (u32, u32, u32)) -> bool {
    i >= start && (i - start).is_multiple_of(step) && (i - start) / step < count
}

/// Cycles from a frame's last element to its first bin count on the output:
/// the last increment is written one cycle after the element (block RAM read,
/// then write), the first count is read the cycle after that, and registered.
pub const BINCOUNT_LATENCY: u32 = 4;

/// Extra cycles of a weighted bin count: its sums become float64 in two pipeline
/// stages (find the leading one, then shift and pack).
pub const FLOAT_LATENCY: u32 = 2;

/// Cycles from a frame's last element to its first bin count on the output.
pub fn bincount_latency(weighted: bool) -> u32 {
    BINCOUNT_LATENCY + if weighted { FLOAT_LATENCY } else { 0 }
}

/// Bin counts stream out one per cycle, [`bincount_latency`] cycles after the
/// frame's last element.
pub fn bincount(arg: &Sched, bins: u32, weighted: bool) -> Sched {
    Sched::dense(bins, arg.last_time() + bincount_latency(weighted))
}

/// For a broadcast from shape `from` to `to`: the stride in `from` of each axis of
/// `to` (0 where the axis is broadcast).
pub fn broadcast_strides(from: &[u32], to: &[u32]) -> Vec<u32> {
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

/// How a gearbox ([`crate::ir::ProcKind::Pack`]) of `net` runs one frame of
/// `lanes`: its output stream (a group leaves the cycle after the queue holds it,
/// one group per cycle) and the most elements its queue holds at once. `None`
/// when the lanes' elements do not fill whole groups of `width`, or when the
/// groups of one frame would still be leaving as the next frame's arrive.
pub fn pack(net: &Network, lanes: &[Bus], width: u32) -> Option<(Sched, u32)> {
    let period = net.frame_period();
    let lanes: Vec<&Sched> = lanes.iter().map(|b| &net.nodes[*b].sched).collect();
    let mut arrivals: Vec<u32> = lanes.iter().flat_map(|s| s.cycles()).collect();
    if lanes.iter().any(|s| s.is_static()) || arrivals.is_empty() || width == 0 {
        return None;
    }
    if !(arrivals.len() as u32).is_multiple_of(width) {
        return None;
    }
    arrivals.sort_unstable();
    let first = arrivals[0];
    let (mut held, mut depth, mut out) = (0u32, 0u32, Vec::new());
    let (mut i, mut t) = (0usize, first);
    while i < arrivals.len() || held > 0 {
        while i < arrivals.len() && arrivals[i] == t {
            held += 1;
            i += 1;
        }
        depth = depth.max(held);
        if held >= width {
            held -= width;
            out.push(t + 1);
        }
        t += 1;
    }
    // the queue must be empty before the next frame's first element arrives
    if *out.last()? > first + period {
        return None;
    }
    let (start, pat) = Pattern::from_positions(out);
    Some((Sched::Stream { t: start, pat }, depth))
}

/// The queue depth of a gearbox: [`pack`]'s, which a verified network always has
/// (room for one cycle of every lane and a group otherwise).
pub fn pack_depth(net: &Network, lanes: &[Bus], width: u32) -> u32 {
    pack(net, lanes, width).map_or(lanes.len() as u32 + width, |(_, d)| d)
}

/// Delay lines of at least this many bits keep their elements in block RAM (a
/// ring of `cycles - 1` words and a registered read) instead of a shift register
/// of flip-flops: 512 bits is an eighth of an iCE40 block RAM and about 500
/// logic cells as registers.
pub const DELAY_RAM_BITS: u64 = 512;

/// Whether a delay of `cycles` cycles on a bus of `width` bits lives in block
/// RAM ([`DELAY_RAM_BITS`]); the VHDL and the resource estimate both ask here.
pub fn delay_in_ram(cycles: u32, width: u32) -> bool {
    cycles >= 16 && cycles as u64 * (width as u64 + 1) >= DELAY_RAM_BITS
}
