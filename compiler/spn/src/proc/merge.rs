//! Merges (`np.concatenate`, `np.stack`): the elements of several streams in the
//! order the joined array has them — `reps` times, `blocks[i]` elements of
//! stream `i` in turn — each taken from a queue of its stream as soon as it has
//! arrived, one element per cycle, one cycle after the decision.

use crate::ir::{Bus, Network, Pattern, Sched};

/// The most elements a merge's queue may hold: deeper would be a frame buffer
/// (operands that arrive together, joined one after the other).
pub const MAX_DEPTH: u32 = 64;

/// How a merge runs one frame: its output stream and each queue's depth; `None`
/// when an operand does not carry `reps * blocks[i]` elements, or the joined
/// elements would still be leaving as the next frame's arrive.
pub fn schedule(
    net: &Network,
    srcs: &[Bus],
    blocks: &[u32],
    reps: u32,
) -> Option<(Sched, Vec<u32>)> {
    if srcs.len() != blocks.len() || srcs.is_empty() {
        return None;
    }
    let arrivals: Vec<Vec<u32>> = srcs.iter().map(|b| net.nodes[*b].sched.cycles()).collect();
    if srcs.iter().any(|b| net.nodes[*b].sched.is_static())
        || arrivals
            .iter()
            .zip(blocks)
            .any(|(a, &k)| a.len() as u64 != k as u64 * reps as u64)
    {
        return None;
    }
    let first = arrivals.iter().filter_map(|a| a.first()).copied().min()?;
    let mut taken = vec![0usize; srcs.len()];
    let mut depth = vec![0u32; srcs.len()];
    let mut out = Vec::new();
    let mut decided: Option<u32> = None;
    for _ in 0..reps {
        for (i, &k) in blocks.iter().enumerate() {
            for _ in 0..k {
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
        }
    }
    if *out.last()? > first + net.frame_period() {
        return None;
    }
    let (start, pat) = Pattern::from_positions(out);
    Some((Sched::Stream { t: start, pat }, depth))
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

/// The delays that bring each operand's elements to the same lateness: an
/// element's lateness is its arrival minus its place in the joined order, and
/// every operand is delayed to the largest. Operands cut from one stream whose
/// parts were computed with different latencies (a region written into a frame,
/// `x[2:4] -= 1`, is joined with the parts of the frame around it) then leave in
/// order, one element per cycle, within a frame period. `None` under the same
/// conditions as [`schedule`].
pub fn aligning_delays(net: &Network, srcs: &[Bus], blocks: &[u32], reps: u32) -> Option<Vec<u32>> {
    if srcs.len() != blocks.len() || srcs.is_empty() {
        return None;
    }
    let arrivals: Vec<Vec<u32>> = srcs.iter().map(|b| net.nodes[*b].sched.cycles()).collect();
    if srcs.iter().any(|b| net.nodes[*b].sched.is_static())
        || arrivals
            .iter()
            .zip(blocks)
            .any(|(a, &k)| a.len() as u64 != k as u64 * reps as u64)
    {
        return None;
    }
    let mut late = vec![i64::MIN; srcs.len()];
    let mut taken = vec![0usize; srcs.len()];
    let mut place = 0i64;
    for _ in 0..reps {
        for (i, &k) in blocks.iter().enumerate() {
            for _ in 0..k {
                late[i] = late[i].max(arrivals[i][taken[i]] as i64 - place);
                taken[i] += 1;
                place += 1;
            }
        }
    }
    let most = late.iter().copied().max()?;
    Some(late.iter().map(|&l| (most - l) as u32).collect())
}
