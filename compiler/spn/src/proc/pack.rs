//! Gearboxes: the elements of several lanes regrouped `width` at a time.

use crate::ir::{Bus, Network, Pattern, ProcKind, Sched};

/// How a gearbox of `net` runs one frame of `lanes`: its output stream (a group
/// leaves the cycle after the queue holds it, one group per cycle) and the most
/// elements its queue holds at once. `None` when the lanes' elements do not fill
/// whole groups of `width`, or when the groups of one frame would still be
/// leaving as the next frame's arrive.
pub fn schedule(net: &Network, lanes: &[Bus], width: u32) -> Option<(Sched, u32)> {
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

/// The process of a gearbox that keeps its queue ([`group`]'s first).
pub fn leader(net: &Network, lanes: &[Bus], width: u32) -> Option<Bus> {
    group(net, lanes, width).first().map(|g| g.1)
}

/// The processes of one gearbox: every `pack` of `lanes` by `width`, as
/// `(lane, bus)` in order. They share one queue: the hardware keeps it once,
/// in the first one's process, which drives every lane's output (a queue per
/// output lane would repeat the same selection logic `width` times).
pub fn group(net: &Network, lanes: &[Bus], width: u32) -> Vec<(u32, Bus)> {
    let mut g: Vec<(u32, Bus)> = net
        .nodes
        .iter()
        .filter_map(|(b, n)| match &n.kind {
            ProcKind::Pack {
                lanes: l,
                width: w,
                lane,
            } if *w == width && l[..] == lanes[..] => Some((*lane, b)),
            _ => None,
        })
        .collect();
    g.sort_unstable();
    g
}

/// The queue depth of a gearbox: [`schedule`]'s, which a verified network always
/// has (room for one cycle of every lane and a group otherwise).
pub fn depth(net: &Network, lanes: &[Bus], width: u32) -> u32 {
    schedule(net, lanes, width).map_or(lanes.len() as u32 + width, |(_, d)| d)
}

/// The verifier's rule: it drives one element of each group, and its lanes fill
/// whole groups that leave within a frame; the schedule is [`schedule`]'s.
pub fn check(
    net: &Network,
    lanes: &[Bus],
    width: u32,
    lane: u32,
    errs: &mut Vec<String>,
) -> Option<Sched> {
    if lane >= width {
        errs.push(format!("pack drives element {lane} of groups of {width}"));
        return None;
    }
    match schedule(net, lanes, width) {
        Some((s, _)) => Some(s),
        None => {
            errs.push(format!(
                "pack of {} lanes cannot fill groups of {width} within a frame",
                lanes.len()
            ));
            None
        }
    }
}
