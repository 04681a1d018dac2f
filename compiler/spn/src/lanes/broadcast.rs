//! Broadcasts on lanes: per lane, replicated rows, packed columns, or each
//! lane's own elements of rows that straddle cycles (lane views), in as many
//! banks as the reads need.

use super::*;
use crate::ir::Broadcast;

impl Widen {
    pub(super) fn broadcast(
        &mut self,
        n: &Node,
        arg: Bus,
        timing: Bus,
        from: &[u32],
        to: &[u32],
    ) -> Option<W> {
        let av = self.stream_lanes(arg, n.span)?;
        let tv = self.stream_lanes(timing, n.span)?;
        let lanes = tv.len() as u32;
        let mut padded = vec![1u32; to.len() - from.len()];
        padded.extend_from_slice(from);
        // what each lane's memory stores, and the cycle shapes it maps between
        let column =
            split(to, lanes).filter(|sp| lanes > 1 && padded[sp.r..].iter().all(|&d| d == 1));
        let row =
            split(to, lanes).filter(|sp| av.len() as u32 == lanes && padded[sp.r..] == to[sp.r..]);
        let (args, cfrom, cto) = if numel(from) == 1 && av.len() == 1 {
            // one value (a frame's statistic) read by every element of every lane
            let per_lane = self.sched(tv[0]).elements();
            (vec![av[0]; lanes as usize], vec![1], vec![per_lane])
        } else if let Some(sp) = column {
            // a column: every lane of a cycle reads the same element, so one stream
            // of the argument feeds every lane
            let one = self.one_lane(n, av)?;
            let mut cfrom = padded[..sp.r].to_vec();
            cfrom.push(1);
            (vec![one; lanes as usize], cfrom, sp.cycle_shape(to))
        } else if lanes == 1 && av.len() == 1 {
            (av, from.to_vec(), to.to_vec())
        } else if let Some(sp) = row {
            // rows: lane l stores the elements of the row that lane l reads
            (av, sp.cycle_shape(&padded), sp.cycle_shape(to))
        } else {
            // rows that straddle cycles: each lane reads its own elements of
            // `to` from the one lane of the argument that holds them all (or,
            // where it reads several, from the argument packed into one lane)
            return self.broadcast_lanes(n, av, tv, from, to);
        };
        let views = vec![LaneView::WHOLE; lanes as usize];
        self.broadcast_each(n, &args, &tv, (&cfrom, &cto), &views)
    }

    /// A stream's lanes as one lane: itself, or packed by a gearbox.
    fn one_lane(&mut self, n: &Node, av: Vec<Bus>) -> Option<Bus> {
        if av.len() == 1 {
            return Some(av[0]);
        }
        match self.packed(n.range, n.span, av, 1)? {
            W::Lanes(v) => Some(v[0]),
            W::Static(b) => Some(b),
            W::Selected(_) => None,
        }
    }

    /// A broadcast whose lanes each read their own elements of `to`
    /// ([`LaneView`]s): from the lane of the argument that holds all of them,
    /// or from the argument packed into one lane.
    pub(super) fn broadcast_lanes(
        &mut self,
        n: &Node,
        av: Vec<Bus>,
        tv: Vec<Bus>,
        from: &[u32],
        to: &[u32],
    ) -> Option<W> {
        let (lanes, a) = (tv.len() as u32, av.len() as u32);
        let direct: Option<Vec<u32>> = (0..lanes)
            .map(|l| proc::broadcast::arg_lane(from, to, l, lanes, a))
            .collect();
        let (args, arg_lanes) = match direct {
            Some(m) => (m.iter().map(|&m| av[m as usize]).collect(), a),
            None => (vec![self.one_lane(n, av)?; lanes as usize], 1),
        };
        let views: Vec<LaneView> = (0..lanes)
            .map(|lane| LaneView {
                lane,
                lanes,
                arg_lanes,
            })
            .collect();
        self.broadcast_each(n, &args, &tv, (from, to), &views)
    }

    /// One broadcast per lane, reading `args[l]` along `tv[l]` as `views[l]`
    /// says: every lane's timing waits as long as the latest lane needs (a
    /// row's or frame's statistic broadcast back onto it), so the lanes stay
    /// together.
    pub(super) fn broadcast_each(
        &mut self,
        n: &Node,
        args: &[Bus],
        tv: &[Bus],
        (from, to): (&[u32], &[u32]),
        views: &[LaneView],
    ) -> Option<W> {
        let lags: Vec<u32> = (0..tv.len())
            .map(|l| {
                let (a, t) = (self.sched(args[l]), self.sched(tv[l]));
                let view = views[l];
                Streams {
                    arg: &a,
                    timing: &t,
                    from,
                    to,
                    view,
                }
                .lag()
            })
            .collect();
        let lag = lags.iter().copied().max().unwrap_or(0);
        // lanes that read their own parts wait until the latest lane can read:
        // each lane's timing, and only it, is delayed (the stored streams, read
        // by several lanes, keep their cycles, which the lags count from)
        let whole = views.iter().all(|v| *v == LaneView::WHOLE);
        let end = (0..tv.len())
            .map(|l| self.sched(tv[l]).time() + lags[l])
            .max()
            .unwrap_or(0);
        let period = self.net.frame_period();
        let mut out = Vec::with_capacity(tv.len());
        for l in 0..tv.len() {
            let (a, t) = (args[l], tv[l]);
            let al = if !whole {
                let d = end - self.sched(t).time();
                vec![a, self.delay(t, d)]
            } else if lag == 0 {
                self.align(&[a, t])
            } else {
                vec![a, self.delay(t, lag)]
            };
            let (sa, st) = (self.sched(al[0]), self.sched(al[1]));
            let streams = Streams {
                arg: &sa,
                timing: &st,
                from,
                to,
                view: views[l],
            };
            if let Err(why) = streams.banks(period) {
                return self.fail(
                    n.span,
                    format!(
                        "a broadcast of {from:?} to {to:?} over {} lanes: {why}",
                        tv.len()
                    ),
                    "use fewer lanes, or broadcast an array that arrives with the frame it is broadcast onto",
                );
            }
            let kind = ProcKind::Broadcast(Broadcast {
                arg: al[0],
                timing: al[1],
                from: from.to_vec(),
                to: to.to_vec(),
                view: views[l],
            });
            out.push(self.after(kind, n.range, al[1], n.span));
        }
        Some(W::Lanes(out))
    }
}
