//! Broadcasts: a frame of shape `from` stored, and answered along a timing
//! stream of shape `to`.

use crate::ir::{Bus, LaneView, Network, Sched};
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

/// A lane's read counters over `to`: the multi-index of its first element, and
/// the digits of the lanes it advances by.
pub fn counts(to: &[u32], view: LaneView) -> (Vec<u32>, Vec<u32>) {
    let digits = |mut i: u64| {
        let mut d = vec![0u32; to.len()];
        for k in (0..to.len()).rev() {
            d[k] = (i % to[k] as u64) as u32;
            i /= to[k] as u64;
        }
        d
    };
    let n = numel(to) as u64;
    (digits(view.lane as u64 % n), digits(view.lanes as u64 % n))
}

/// The address in the stored stream that each element of a lane's timing
/// stream reads.
pub fn reads(from: &[u32], to: &[u32], view: LaneView) -> Vec<usize> {
    sources(from, to)
        .into_iter()
        .skip(view.lane as usize)
        .step_by(view.lanes.max(1) as usize)
        .map(|s| s / view.arg_lanes.max(1) as usize)
        .collect()
}

/// The lane of `from` (of `arg_lanes`) that lane `lane` of `lanes` reads, if it
/// reads only one.
pub fn arg_lane(from: &[u32], to: &[u32], lane: u32, lanes: u32, arg_lanes: u32) -> Option<u32> {
    let mut src = sources(from, to)
        .into_iter()
        .skip(lane as usize)
        .step_by(lanes.max(1) as usize)
        .map(|s| s as u32 % arg_lanes.max(1));
    let m = src.next()?;
    src.all(|x| x == m).then_some(m)
}

/// A broadcast's two streams as one lane sees them: the stream of `from`
/// stored along `arg`, read along `timing` for the elements of `to` that the
/// view carries.
#[derive(Clone, Copy, Debug)]
pub struct Streams<'a> {
    /// The stored stream's schedule.
    pub arg: &'a Sched,
    /// The reading stream's schedule.
    pub timing: &'a Sched,
    /// Shape of the stored array.
    pub from: &'a [u32],
    /// Shape of the result.
    pub to: &'a [u32],
    /// Which elements of them the streams carry.
    pub view: LaneView,
}

impl Streams<'_> {
    /// How many cycles the timing stream must wait so that every element is
    /// read no earlier than the cycle its source element is stored (0 when a
    /// row or column of the input is broadcast against the input itself; a
    /// row's or frame's reduction broadcast back onto it waits for the row or
    /// frame: a row or frame buffer).
    pub fn lag(&self) -> u32 {
        let (w, r) = (self.arg.cycles(), self.timing.cycles());
        reads(self.from, self.to, self.view)
            .iter()
            .zip(&r)
            .map(|(&src, &rd)| w.get(src).map_or(0, |&wr| wr.saturating_sub(rd)))
            .max()
            .unwrap_or(0)
    }

    /// The memory banks the broadcast needs with frames `period` cycles apart:
    /// one when every element is read before the next frame stores over it;
    /// `k` (frame `n` stored in bank `n mod k`, while earlier frames are still
    /// read from the others) when before the frame `k` frames later does — a
    /// row broadcast on lanes where the row's stream arrives over the whole
    /// frame, say, or a row's statistic broadcast back onto frames of a few
    /// cycles; `None` when more than [`MAX_BANKS`] would.
    pub fn banks(&self, period: u32) -> Option<u32> {
        (1..=MAX_BANKS).find(|&k| self.conflict(period, k).is_none())
    }

    /// Why the broadcast, stored in `banks` banks, would read an element before
    /// it is stored, or after a later frame (`banks * period` cycles later)
    /// stores over it; `None` when every read is in time.
    pub fn conflict(&self, period: u32, banks: u32) -> Option<String> {
        let (w, r) = (self.arg.cycles(), self.timing.cycles());
        let mut last = vec![None; w.len()];
        for (&src, &rd) in reads(self.from, self.to, self.view).iter().zip(&r) {
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
                let over = w[src] + banks * period;
                if *l >= over {
                    let which = if banks == 1 { "the next" } else { "a later" };
                    return Some(format!(
                        "broadcast reads element {src} in cycle {l}, after {which} frame stores over it (cycle {over})"
                    ));
                }
            }
        }
        None
    }
}

/// The verifier's rule: a stored stream of the `from` shape and a timing stream
/// of the `to` shape (each with one frame's elements, or its lane's part of
/// them, all the lane's reads in one lane of `from`) such that every element
/// is read at or after the cycle its source is stored, and before a later
/// frame stores over it ([`banks`]); the result is the timing stream one cycle
/// later.
pub fn check(
    net: &Network,
    arg: Bus,
    timing: Bus,
    from: &[u32],
    to: &[u32],
    view: LaneView,
    errs: &mut Vec<String>,
) -> Option<Sched> {
    let (sa, st) = (&net.nodes[arg].sched, &net.nodes[timing].sched);
    let LaneView {
        lane,
        lanes,
        arg_lanes,
    } = view;
    let part = |n: usize, k: u32| (k > 0 && n.is_multiple_of(k as usize)).then(|| n / k as usize);
    if sa.is_static()
        || st.is_static()
        || lane >= lanes
        || !arg_lanes.is_power_of_two()
        || Some(sa.elements() as usize) != part(numel(from), arg_lanes)
        || Some(st.elements() as usize) != part(numel(to), lanes)
        || !broadcastable(from, to)
        || arg_lane(from, to, lane, lanes, arg_lanes).is_none()
    {
        errs.push(format!(
            "cannot broadcast {from:?} ({sa:?}) to {to:?} ({st:?}) as {view:?}"
        ));
        return None;
    }
    let streams = Streams {
        arg: sa,
        timing: st,
        from,
        to,
        view,
    };
    let period = net.frame_period();
    if streams.banks(period).is_none() {
        errs.extend(streams.conflict(period, MAX_BANKS));
        return None;
    }
    Some(st.delayed(1))
}

/// The most memory banks a broadcast keeps.
pub const MAX_BANKS: u32 = 4;

/// How a broadcast is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Words of one frame (the lane's part of `from`).
    pub words: u32,
    /// Banks ([`Streams::banks`]): the memory holds `banks * words`.
    pub banks: u32,
    /// Reads per frame (the timing stream's elements).
    pub reads: u32,
}

/// The plan of the broadcast process `b`.
pub fn plan(net: &Network, b: Bus) -> Option<Plan> {
    let crate::ProcKind::Broadcast {
        arg,
        timing,
        from,
        to,
        view,
    } = &net.nodes[b].kind
    else {
        return None;
    };
    let streams = Streams {
        arg: &net.nodes[*arg].sched,
        timing: &net.nodes[*timing].sched,
        from,
        to,
        view: *view,
    };
    Some(Plan {
        words: numel(from) as u32 / view.arg_lanes,
        banks: streams.banks(net.frame_period()).unwrap_or(1),
        reads: streams.timing.elements(),
    })
}
