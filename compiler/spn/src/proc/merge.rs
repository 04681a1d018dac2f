//! Merges (`np.concatenate`, `np.stack`): the elements of several streams in the
//! order the joined array has them — `reps` times, `blocks[i]` elements of
//! stream `i` in turn — each taken from a queue of its stream as soon as it has
//! arrived, one element per cycle, one cycle after the decision.

use crate::ir::{Bus, Network, Pattern, Sched};

/// The most elements a merge's queue may hold: deeper would be a frame buffer
/// (operands that arrive together, joined one after the other).
pub const MAX_DEPTH: u32 = 64;

/// Each operand's arrival cycles; `None` when an operand is static or does not
/// carry `reps * blocks[i]` elements.
fn arrivals(net: &Network, srcs: &[Bus], blocks: &[u32], reps: u32) -> Option<Vec<Vec<u32>>> {
    if srcs.len() != blocks.len() || srcs.is_empty() {
        return None;
    }
    let arrivals: Vec<Vec<u32>> = srcs.iter().map(|b| net.nodes[*b].sched.cycles()).collect();
    let carried = srcs.iter().zip(&arrivals).zip(blocks).all(|((b, a), &k)| {
        !net.nodes[*b].sched.is_static() && a.len() as u64 == k as u64 * reps as u64
    });
    carried.then_some(arrivals)
}

/// The operand each element of the joined array comes from, in order.
fn order(blocks: &[u32], reps: u32) -> impl Iterator<Item = usize> + '_ {
    (0..reps).flat_map(move |_| {
        blocks
            .iter()
            .enumerate()
            .flat_map(|(i, &k)| std::iter::repeat_n(i, k as usize))
    })
}

/// How a merge runs one frame: its output stream and each queue's depth; `None`
/// when an operand does not carry `reps * blocks[i]` elements, or the joined
/// elements would still be leaving as the next frame's arrive.
pub fn schedule(
    net: &Network,
    srcs: &[Bus],
    blocks: &[u32],
    reps: u32,
) -> Option<(Sched, Vec<u32>)> {
    let arrivals = arrivals(net, srcs, blocks, reps)?;
    schedule_arrivals(&arrivals, blocks, reps, net.frame_period())
}

/// The fewest cycles between frame starts in which a merge's joined elements
/// leave before the next frame's arrive: more than the input takes where the
/// joined array has more elements than the frame (`np.stack([p & 15, p >> 4],
/// axis=-1)` unpacking two 4-bit pixels from each byte), 0 where the merge does
/// not carry its blocks.
pub fn period_needed(net: &Network, srcs: &[Bus], blocks: &[u32], reps: u32) -> u32 {
    let Some(arrivals) = arrivals(net, srcs, blocks, reps) else {
        return 0;
    };
    let first = arrivals.iter().filter_map(|a| a.first()).copied().min();
    match (first, schedule_arrivals(&arrivals, blocks, reps, u32::MAX)) {
        (Some(first), Some((s, _))) => s.cycles().last().map_or(0, |&l| l - first),
        _ => 0,
    }
}

/// [`schedule`] of operands arriving in the given cycles.
fn schedule_arrivals(
    arrivals: &[Vec<u32>],
    blocks: &[u32],
    reps: u32,
    period: u32,
) -> Option<(Sched, Vec<u32>)> {
    let first = arrivals.iter().filter_map(|a| a.first()).copied().min()?;
    let mut taken = vec![0usize; arrivals.len()];
    let mut depth = vec![0u32; arrivals.len()];
    let mut out = Vec::new();
    let mut decided: Option<u32> = None;
    for i in order(blocks, reps) {
        let arrived = arrivals[i][taken[i]];
        let t = decided.map_or(arrived, |d| arrived.max(d + 1));
        // what each queue holds when this element leaves
        for (j, a) in arrivals.iter().enumerate() {
            let held = a.partition_point(|&x| x <= t) - taken[j];
            depth[j] = depth[j].max(held as u32);
        }
        taken[i] += 1;
        decided = Some(t);
        out.push(t + 1);
    }
    if *out.last()? > first.saturating_add(period) {
        return None;
    }
    let (start, pat) = Pattern::from_positions(out);
    Some((Sched::Stream { t: start, pat }, depth))
}

/// How the lowering joins operands: the delay each operand takes first, the
/// merge's schedule and queue depths (those of the last attempt when none
/// fits [`MAX_DEPTH`]).
///
/// Operands computed with different latencies — a region written into a
/// frame (`x[2:4] -= 1`) is joined with the parts of the frame around it — are
/// first delayed to the same lateness (an element's arrival minus its place in
/// the joined order), so the joined elements leave as evenly as they came;
/// otherwise, or where that does not fit, each element leaves as soon as it can.
pub fn plan(
    net: &Network,
    srcs: &[Bus],
    blocks: &[u32],
    reps: u32,
) -> Option<(Vec<u32>, Sched, Vec<u32>)> {
    let arrivals = arrivals(net, srcs, blocks, reps)?;
    let period = net.frame_period();
    let mut late = vec![i64::MIN; srcs.len()];
    let mut taken = vec![0usize; srcs.len()];
    for (place, i) in order(blocks, reps).enumerate() {
        late[i] = late[i].max(arrivals[i][taken[i]] as i64 - place as i64);
        taken[i] += 1;
    }
    let most = late.iter().copied().max()?;
    let delays: Vec<u32> = late.iter().map(|&l| (most - l) as u32).collect();
    let mut tries = Vec::new();
    if delays.iter().any(|&d| d > 0) {
        let aligned: Vec<Vec<u32>> = arrivals
            .iter()
            .zip(&delays)
            .map(|(a, &d)| a.iter().map(|&x| x + d).collect())
            .collect();
        tries.push((delays, aligned));
    }
    tries.push((vec![0; srcs.len()], arrivals));
    // the last try (as they come) is what a refusal reports; a join that cannot
    // leave within the input's frame period stretches it ([`period_needed`])
    let mut last = None;
    for period in [period, u32::MAX] {
        for (delays, arrivals) in &tries {
            // a longer period with a frame buffer in front of an operand would
            // join whole inputs one after the other at a fraction of their rate
            if period == u32::MAX && delays.iter().any(|&d| d > MAX_DEPTH) {
                continue;
            }
            let s = schedule_arrivals(arrivals, blocks, reps, period);
            if matches!(&s, Some((_, depth)) if depth.iter().all(|&x| x <= MAX_DEPTH)) {
                return s.map(|(s, d)| (delays.clone(), s, d));
            }
            if s.is_some() || last.is_none() {
                last = s.map(|(s, d)| (delays.clone(), s, d));
            }
        }
    }
    last
}

/// Each queue's depth: [`schedule`]'s, which a verified network has.
pub fn depths(net: &Network, srcs: &[Bus], blocks: &[u32], reps: u32) -> Vec<u32> {
    schedule(net, srcs, blocks, reps).map_or(vec![1; srcs.len()], |(_, d)| d)
}

/// The verifier's rule: the schedule is [`schedule`]'s, the queues stay within
/// [`MAX_DEPTH`].
pub fn check(
    net: &Network,
    srcs: &[Bus],
    blocks: &[u32],
    reps: u32,
    errs: &mut Vec<String>,
) -> Option<Sched> {
    match schedule(net, srcs, blocks, reps) {
        Some((s, d)) if d.iter().all(|&x| x <= MAX_DEPTH) => Some(s),
        Some((_, d)) => {
            errs.push(format!(
                "merge queues of {d:?} elements, more than {MAX_DEPTH}"
            ));
            None
        }
        None => {
            errs.push(format!(
                "merge of {} streams cannot take blocks {blocks:?} x {reps} within a frame",
                srcs.len()
            ));
            None
        }
    }
}
