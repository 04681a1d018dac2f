//! Broadcasts: a frame of shape `from` stored, and answered along a timing
//! stream of shape `to`.

use crate::ir::{Broadcast, LaneView, Network, Sched};
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

/// A lane's read counters over `to`: the multi-index of its first element, and
/// the digits of the lanes it advances by (the counters the simulator and the
/// VHDL keep).
pub fn counts(to: &[u32], view: LaneView) -> (Vec<u32>, Vec<u32>) {
    let n = numel(to) as u32;
    (
        super::unravel(view.lane % n, to),
        super::unravel(view.lanes % n, to),
    )
}

/// The element of `from` that each element of a lane's part of `to` reads, in
/// order: the lane's read counters, stepped as the hardware steps them.
fn lane_sources(from: &[u32], to: &[u32], view: LaneView) -> impl Iterator<Item = usize> {
    let strides = strides(from, to);
    let (mut idx, step) = counts(to, view);
    let to = to.to_vec();
    (0..numel(&to) / view.lanes.max(1) as usize).map(move |_| {
        let src = idx
            .iter()
            .zip(&strides)
            .map(|(&i, &s)| (i * s) as usize)
            .sum();
        let mut carry = 0;
        for k in (0..to.len()).rev() {
            let s = idx[k] + step[k] + carry;
            carry = (s >= to[k]) as u32;
            idx[k] = s - carry * to[k];
        }
        src
    })
}

/// The address in the stored stream that each element of a lane's timing
/// stream reads.
pub fn reads(from: &[u32], to: &[u32], view: LaneView) -> Vec<usize> {
    let a = view.arg_lanes.max(1) as usize;
    lane_sources(from, to, view).map(|s| s / a).collect()
}

/// The lane of `from` (of `arg_lanes`) that lane `lane` of `lanes` reads, if it
/// reads only one.
pub fn arg_lane(from: &[u32], to: &[u32], lane: u32, lanes: u32, arg_lanes: u32) -> Option<u32> {
    let view = LaneView {
        lane,
        lanes,
        arg_lanes,
    };
    let mut src = lane_sources(from, to, view).map(|s| s as u32 % arg_lanes.max(1));
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
    /// cycles. Otherwise why not: an element read before it is stored, or
    /// after the frame [`MAX_BANKS`] frames later stores over it.
    pub fn banks(&self, period: u32) -> Result<u32, String> {
        let (w, r) = (self.arg.cycles(), self.timing.cycles());
        // the banks each read needs: 1 + the frames stored since its element
        let mut banks = 1;
        for (&src, &rd) in reads(self.from, self.to, self.view).iter().zip(&r) {
            if rd < w[src] {
                return Err(format!(
                    "broadcast reads element {src} in cycle {rd}, before it is stored (cycle {})",
                    w[src]
                ));
            }
            let k = (rd - w[src]) / period.max(1) + 1;
            if k > MAX_BANKS {
                let over = w[src] + MAX_BANKS * period;
                return Err(format!(
                    "broadcast reads element {src} in cycle {rd}, after the frame {MAX_BANKS} frames later stores over it (cycle {over})"
                ));
            }
            banks = banks.max(k);
        }
        Ok(banks)
    }
}

/// The verifier's rule: a stored stream of the `from` shape and a timing stream
/// of the `to` shape (each with one frame's elements, or its lane's part of
/// them, all the lane's reads in one lane of `from`) such that every element
/// is read at or after the cycle its source is stored, and before a later
/// frame stores over it ([`Streams::banks`]); the result is the timing stream
/// one cycle later.
pub fn check(net: &Network, p: &Broadcast, errs: &mut Vec<String>) -> Option<Sched> {
    let (arg, timing, view) = (p.arg, p.timing, p.view);
    let (from, to) = (&p.from[..], &p.to[..]);
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
    if let Err(why) = streams.banks(net.frame_period()) {
        errs.push(why);
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

/// The plan of the broadcast `p` in `net`.
pub fn plan(net: &Network, p: &Broadcast) -> Plan {
    let streams = Streams {
        arg: &net.nodes[p.arg].sched,
        timing: &net.nodes[p.timing].sched,
        from: &p.from,
        to: &p.to,
        view: p.view,
    };
    Plan {
        words: numel(&p.from) as u32 / p.view.arg_lanes,
        banks: streams.banks(net.frame_period()).unwrap_or(1),
        reads: streams.timing.elements(),
    }
}
