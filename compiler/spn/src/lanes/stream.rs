//! Slices, gearboxes, scans and bin counts on lanes.

use super::*;
use crate::ir::Bincount;

impl Widen {
    pub(super) fn slice(
        &mut self,
        n: &Node,
        a: Bus,
        shape: &[u32],
        sel: &[(u32, u32, u32)],
    ) -> Option<W> {
        let v = self.stream_lanes(a, n.span)?;
        let lanes = v.len() as u32;
        let filter = |w: &mut Self, b: Bus, cshape: &[u32], csel: &[(u32, u32, u32)]| {
            if csel.iter().zip(cshape).all(|(&s, &d)| s == (0, 1, d)) {
                return b;
            }
            let s = proc::slice::schedule(&w.sched(b), cshape, csel);
            let kind = ProcKind::Slice(b, cshape.to_vec(), csel.to_vec());
            w.push(kind, n.range, s, n.span)
        };
        if lanes == 1 {
            return Some(W::Lanes(vec![filter(self, v[0], shape, sel)]));
        }
        let stepped = sel.iter().any(|&(_, st, c)| st > 1 && c > 1);
        let bad = |w: &mut Self| {
            w.fail(
                n.span,
                format!("a slice whose selection does not line up with {lanes} lanes"),
                if stepped {
                    "use a lane count that the slice's step divides (or a multiple of it), with whole groups of lanes selected"
                } else {
                    "a slice keeps every lane when the elements it skips, before and between its rows, are multiples of the lane count"
                },
            )
        };
        // Lanes run along the flat order: where they do not line up with the
        // axes, a selection that is contiguous across axes (`frame[0]` of a
        // 514-wide frame at 8 lanes) is a slice of the merged axis.
        let merged;
        let (shape, sel, sp) = match split(shape, lanes) {
            Some(sp) => (shape, sel, sp),
            None => {
                merged = merge_axes(shape, sel);
                let Some(sp) = split(&merged.0, lanes) else {
                    return bad(self);
                };
                (&merged.0[..], &merged.1[..], sp)
            }
        };
        let cshape = sp.cycle_shape(shape);
        let mut csel: Vec<(u32, u32, u32)> = sel[..sp.r].to_vec();
        // the lanes selected along each lane axis
        let mut lsel: Vec<Vec<u32>> = Vec::new();
        let (s, st, c) = sel[sp.r];
        let b = sp.b;
        if b == 1 {
            csel.push((s, st, c));
            lsel.push(vec![0]);
        } else if (s, st, c) == (0, 1, shape[sp.r]) {
            csel.push((0, 1, sp.a));
            lsel.push((0..b).collect());
        } else if st.is_multiple_of(b) {
            csel.push((s / b, st / b, c));
            lsel.push(vec![s % b]);
        } else if b.is_multiple_of(st) && s % b < st && (c * st).is_multiple_of(b) {
            csel.push((s / b, 1, c * st / b));
            lsel.push((0..b / st).map(|j| s % b + st * j).collect());
        } else {
            // the selection moves elements between lanes
            return self.slice_packed(n, &v, shape, sel, sp);
        }
        for &(s, st, c) in &sel[sp.r + 1..] {
            lsel.push((0..c).map(|m| s + st * m).collect());
        }
        let lshape = sp.lane_shape(shape);
        let total: usize = lsel.iter().map(|x| x.len()).product();
        let mut out = Vec::with_capacity(total);
        for k in 0..total as u32 {
            let counts: Vec<u32> = lsel.iter().map(|x| x.len() as u32).collect();
            let idx = unravel(k, &counts);
            let mut lane = 0u32;
            for (j, &i) in idx.iter().enumerate() {
                lane = lane * lshape[j] + lsel[j][i as usize];
            }
            out.push(filter(self, v[lane as usize], &cshape, &csel));
        }
        Some(W::Lanes(out))
    }

    /// A slice whose selection moves elements between lanes (a step that does not
    /// divide the lanes, say): every lane keeps its own selected elements — for
    /// one lane the selection along the split axis is again a step, so each lane is
    /// an ordinary slice of its own stream — and gearboxes pack what the lanes keep,
    /// in order, into `gcd(lanes, elements kept)` lanes.
    pub(super) fn slice_packed(
        &mut self,
        n: &Node,
        v: &[Bus],
        shape: &[u32],
        sel: &[(u32, u32, u32)],
        sp: Split,
    ) -> Option<W> {
        let cshape = sp.cycle_shape(shape);
        let lshape = sp.lane_shape(shape);
        // The gearbox's timing depends only on where the selection starts within a
        // cycle: the lanes from `first` (the lane of the first selected element)
        // on enter one cycle later, ahead of the lanes before it, so that the
        // queue sees element `e` in cycle `(e - first) / lanes + 1` (of the
        // lanes' timing), in order (with `first == 0` every element is already
        // in cycle `e / lanes`). Slices that are translates of each other (the
        // shifted views of a stencil) then get one pattern, a delay apart.
        let first = {
            let mut o = 0u64;
            for (d, &(start, _, _)) in sel.iter().enumerate() {
                let stride: u64 = shape[d + 1..].iter().map(|&x| x as u64).product();
                o += start as u64 * stride;
            }
            (o % v.len() as u64) as usize
        };
        let mut lanes_kept: Vec<(usize, Bus)> = Vec::new();
        for (l, &bus) in v.iter().enumerate() {
            let idx = unravel(l as u32, &lshape);
            if !idx[1..]
                .iter()
                .zip(&sel[sp.r + 1..])
                .all(|(&i, &s)| proc::slice::picks(i, s))
            {
                continue;
            }
            // the cycles along the split axis whose element on this lane is selected
            let g: Vec<u32> = (0..sp.a)
                .filter(|&g| proc::slice::picks(g * sp.b + idx[0], sel[sp.r]))
                .collect();
            let Some(&g0) = g.first() else { continue };
            let step = g.get(1).map_or(1, |g1| g1 - g0);
            if g.windows(2).any(|w| w[1] - w[0] != step) {
                self.diags
                    .push(Diagnostic::bug("a lane's slice is not a step").primary(n.span, ""));
                return None;
            }
            let mut csel = sel[..sp.r].to_vec();
            csel.push((g0, step, g.len() as u32));
            // every kept lane goes through a slice process, so that all of them
            // keep the source's timing (one cycle later)
            let s = proc::slice::schedule(&self.sched(bus), &cshape, &csel);
            let kind = ProcKind::Slice(bus, cshape.clone(), csel);
            let lane = self.push(kind, n.range, s, n.span);
            lanes_kept.push((l, lane));
        }
        let total: u32 = sel.iter().map(|x| x.2).product();
        let width = gcd(v.len() as u32, total);
        // the gearbox comes when a user needs the elements in order
        // ([`Widen::dense`]); a full reduction does not
        Some(W::Selected(Selected {
            lanes: lanes_kept,
            first,
            width,
            range: n.range,
            span: n.span,
        }))
    }

    /// `width` lanes carrying, in order, the elements of `lanes` (gearboxes).
    pub(super) fn packed(
        &mut self,
        range: Interval,
        span: Span,
        lanes: Vec<Bus>,
        width: u32,
    ) -> Option<W> {
        let Some((s, _)) = proc::pack::schedule(&self.net, &lanes, width) else {
            return self.fail(
                span,
                format!(
                    "elements that move between lanes, {width} per cycle, cannot leave within a frame"
                ),
                "use fewer lanes",
            );
        };
        let out = (0..width)
            .map(|lane| {
                let kind = ProcKind::Pack {
                    lanes: lanes.clone(),
                    width,
                    lane,
                };
                self.push(kind, range, s.clone(), span)
            })
            .collect();
        Some(W::Lanes(out))
    }

    pub(super) fn scan(&mut self, n: &Node, d: DType, a: Bus, count: u32) -> Option<W> {
        let v = self.stream_lanes(a, n.span)?;
        let lanes = v.len() as u32;
        let span = n.span;
        if lanes == 1 {
            let s = self.sched(v[0]).delayed(1);
            let kind = ProcKind::Scan(d, v[0], count);
            return Some(W::Lanes(vec![self.push(kind, n.range, s, span)]));
        }
        let arg = self.range(v[0]);
        let mut cur = v;
        if !arg.within(Interval::of(d)) {
            cur = cur
                .iter()
                .map(|&x| self.after(ProcKind::Cast(d, Src::Bus(x)), Interval::of(d), x, span))
                .collect();
        }
        let leaf = self.range(cur[0]);
        // Kogge–Stone: after the level with offset k, lane l holds the sum of lanes
        // max(0, l - 2k + 1) ..= l.
        let mut k = 1usize;
        while k < lanes as usize {
            let mut next = Vec::with_capacity(cur.len());
            for l in 0..cur.len() {
                next.push(if l >= k {
                    let kind =
                        ProcKind::Binary(BinaryOp::Add, d, Src::Bus(cur[l]), Src::Bus(cur[l - k]));
                    let r = sum_range(leaf, (l + 1).min(2 * k) as u32, d);
                    self.after(kind, r, cur[l], span)
                } else {
                    self.delay(cur[l], 1)
                });
            }
            cur = next;
            k *= 2;
        }
        // the running total of the earlier cycles of the frame
        let total = cur[lanes as usize - 1];
        let run = self.after(
            ProcKind::Scan(d, total, count / lanes),
            n.range,
            total,
            span,
        );
        let last = self.delay(total, 1);
        let before = if n.range == Interval::of(d) {
            n.range
        } else {
            n.range.union(Interval::point(0))
        };
        let kind = ProcKind::Binary(BinaryOp::Sub, d, Src::Bus(run), Src::Bus(last));
        let carry = self.after(kind, before, run, span);
        let t = self.sched(carry).time();
        let mut out = Vec::with_capacity(cur.len());
        for &x in &cur {
            let x = self.delay(x, t - self.sched(x).time());
            let kind = ProcKind::Binary(BinaryOp::Add, d, Src::Bus(x), Src::Bus(carry));
            out.push(self.after(kind, n.range, x, span));
        }
        Some(W::Lanes(out))
    }

    pub(super) fn bincount(&mut self, n: &Node, p: &Bincount) -> Option<W> {
        let (x, weights, mask) = (p.x, p.weights, p.mask);
        let (bins, count, float) = (p.bins, p.count, p.float);
        let span = n.span;
        let xs = self.stream_lanes(x, span)?;
        let lanes = xs.len() as u32;
        let ws = match weights {
            Some(w) => Some(self.stream_lanes(w, span)?),
            None => None,
        };
        let ms = match mask {
            Some(m) => Some(self.stream_lanes(m, span)?),
            None => None,
        };
        if lanes == 1 {
            let mut buses = vec![xs[0]];
            buses.extend(ws.iter().chain(&ms).map(|v| v[0]));
            let al = self.align(&buses);
            let wb = ws.as_ref().map(|_| al[1]);
            let mb = ms.as_ref().map(|_| al[if ws.is_some() { 2 } else { 1 }]);
            let s = proc::bincount::schedule(&self.sched(al[0]), bins, float);
            let kind = ProcKind::Bincount(Bincount {
                x: al[0],
                weights: wb,
                mask: mb,
                bins,
                count,
                float,
            });
            return Some(W::Lanes(vec![self.push(kind, n.range, s, span)]));
        }
        let period = self.net.frame_period();
        let Some(banks) = (0..=lanes.trailing_zeros())
            .map(|i| 1u32 << i)
            .find(|&k| bins.is_multiple_of(k) && bins / k + proc::bincount::LATENCY <= period)
        else {
            return self.fail(
                span,
                format!("{bins} bins cannot stream out of {lanes} count memories within a frame of {period} cycles"),
                "use fewer lanes, or a number of bins with more factors of two",
            );
        };
        let xr = self.range(xs[0]);
        let xd = if xr.within(Interval::of(DType::I64)) {
            DType::I64
        } else {
            DType::U64
        };
        let sh = banks.trailing_zeros() as i128;
        let per_lane = count / lanes;
        // what one lane's memory sums: counts, or integer sums of weights (a
        // weighted count becomes float64 only after the lanes are merged)
        let one = match &ws {
            Some(w) => self.range(w[0]).union(Interval::point(0)),
            None => Interval::new(0, 1),
        };
        let sums = |k: u32| sum_range(one, k * per_lane, DType::I64);
        let mut counts: Vec<Vec<Bus>> = vec![Vec::new(); banks as usize];
        for l in 0..lanes as usize {
            for (m, bank) in counts.iter_mut().enumerate() {
                let (xb, mb) = if banks == 1 {
                    (xs[l], ms.as_ref().map(|v| v[l]))
                } else {
                    let hi = ProcKind::Binary(BinaryOp::Shr, xd, Src::Bus(xs[l]), Src::Const(sh));
                    let hr = Interval::new(xr.lo >> sh, xr.hi >> sh);
                    let hi = self.after(hi, hr, xs[l], span);
                    let lo = ProcKind::Binary(
                        BinaryOp::And,
                        xd,
                        Src::Bus(xs[l]),
                        Src::Const(banks as i128 - 1),
                    );
                    let lo = self.after(lo, Interval::new(0, banks as i128 - 1), xs[l], span);
                    let eq = ProcKind::Compare(CmpOp::Eq, Src::Bus(lo), Src::Const(m as i128));
                    let mut sel = self.after(eq, Interval::new(0, 1), lo, span);
                    if let Some(mv) = &ms {
                        let al = self.align(&[sel, mv[l]]);
                        let both = ProcKind::Binary(
                            BinaryOp::And,
                            DType::Bool,
                            Src::Bus(al[0]),
                            Src::Bus(al[1]),
                        );
                        sel = self.after(both, Interval::new(0, 1), al[0], span);
                    }
                    (hi, Some(sel))
                };
                let wb = ws.as_ref().map(|v| v[l]);
                let mut buses = vec![xb];
                buses.extend(wb.iter().chain(&mb));
                let al = self.align(&buses);
                let s = proc::bincount::schedule(&self.sched(al[0]), bins / banks, false);
                let kind = ProcKind::Bincount(Bincount {
                    x: al[0],
                    weights: wb.map(|_| al[1]),
                    mask: mb.map(|_| al[buses.len() - 1]),
                    bins: bins / banks,
                    count: per_lane,
                    float: false,
                });
                bank.push(self.push(kind, sums(1), s, span));
            }
        }
        let mut out = Vec::with_capacity(banks as usize);
        for bank in counts {
            // every lane's bincount has the same schedule only if the lanes were
            // aligned the same way; align them all first
            let bank = self.align(&bank);
            let mut root = self.tree(bank, |w, a, b, k| {
                let kind = ProcKind::Binary(BinaryOp::Add, DType::I64, Src::Bus(a), Src::Bus(b));
                w.after(kind, sums(k), a, span)
            });
            if float {
                let kind = ProcKind::Float(Src::Bus(root));
                root = self.after(kind, Interval::of(DType::U64), root, span);
            }
            out.push(root);
        }
        let out = self.align(&out);
        Some(W::Lanes(out))
    }
}

/// The same selection over fewer axes: from the last axis back, an axis whose
/// selection is whole merges with a contiguous selection of the axis before it,
/// and any selection merges with a single index of the axis before it (both
/// pick the same elements in the same flat order).
fn merge_axes(shape: &[u32], sel: &[(u32, u32, u32)]) -> (Vec<u32>, Vec<(u32, u32, u32)>) {
    let mut shape = shape.to_vec();
    let mut sel = sel.to_vec();
    while shape.len() > 1 {
        let r = shape.len() - 1;
        let (dim, (s, st, c)) = (shape[r], sel[r]);
        let (ps, pst, pc) = sel[r - 1];
        let joined = if pc == 1 {
            (ps * dim + s, st, c)
        } else if (s, st, c) == (0, 1, dim) && pst == 1 {
            (ps * dim, 1, pc * dim)
        } else {
            break;
        };
        shape[r - 1] *= dim;
        shape.pop();
        sel[r - 1] = joined;
        sel.pop();
    }
    (shape, sel)
}
