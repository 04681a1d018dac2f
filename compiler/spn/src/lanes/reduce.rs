//! Reductions on lanes: trees over a cycle's lanes, then the cycles; `argmax`
//! keys; rows that straddle cycles folded through `segment`s.

use super::*;
use crate::ir::{Reduce, Segment};

impl Widen {
    pub(super) fn reduce(&mut self, n: &Node, p: &Reduce) -> Option<W> {
        let (op, d, a) = (p.op, p.dtype, p.arg);
        let (shape, axes) = (&p.shape[..], &p.axes[..]);
        if let Some(w) = self.reduce_selected(n, p) {
            return Some(w);
        }
        let v = self.stream_lanes(a, n.span)?;
        let lanes = v.len() as u32;
        if lanes == 1 {
            let s = proc::reduce::schedule(&self.sched(v[0]), shape, axes);
            let kind = ProcKind::Reduce(Reduce {
                op,
                dtype: d,
                arg: v[0],
                shape: shape.to_vec(),
                axes: axes.to_vec(),
            });
            return Some(W::Lanes(vec![self.push(kind, n.range, s, n.span)]));
        }
        if matches!(op, ReduceOp::ArgMax | ReduceOp::ArgMin) {
            return self.arg_reduce(n, op, v, shape, axes);
        }
        let all = (0..shape.len() as u32).all(|i| axes.contains(&i));
        // a reduction over the trailing axes is one over rows of their elements
        let trailing = axes
            .iter()
            .enumerate()
            .all(|(i, &x)| x as usize == shape.len() - axes.len() + i);
        let (shape, axes) = match (all, split(shape, lanes)) {
            (false, None) if trailing => {
                let k = shape.len() - axes.len();
                let width: u32 = shape[k..].iter().product();
                if !width.is_multiple_of(lanes) && width > lanes {
                    return self.segmented(n, op, d, v, width);
                }
                (vec![numel(&shape[..k]) as u32, width], vec![1])
            }
            _ => (shape.to_vec(), axes.to_vec()),
        };
        let (shape, axes) = (&shape[..], &axes[..]);
        // (cycle shape, reduced cycle axes, groups of lanes to combine)
        let (cshape, caxes, groups): (Vec<u32>, Vec<u32>, Vec<Vec<usize>>) = if all {
            let c = numel(shape) as u32 / lanes;
            (vec![c], vec![0], vec![(0..lanes as usize).collect()])
        } else {
            let Some(sp) = split(shape, lanes) else {
                return self.fail(
                    n.span,
                    format!(
                        "a reduction over axes {axes:?} of {shape:?}, whose rows do not line up with {lanes} lanes"
                    ),
                    "use a lane count that divides the last axis, or that the last axes divide",
                );
            };
            let red = |i: usize| axes.contains(&(i as u32));
            let cshape = sp.cycle_shape(shape);
            let caxes: Vec<u32> = (0..=sp.r).filter(|&i| red(i)).map(|i| i as u32).collect();
            let lshape = sp.lane_shape(shape);
            let lred: Vec<bool> = (0..lshape.len()).map(|j| red(sp.r + j)).collect();
            let mut groups: Vec<Vec<usize>> = Vec::new();
            let mut keys: HashMap<Vec<u32>, usize> = HashMap::new();
            for l in 0..lanes {
                let idx = unravel(l, &lshape);
                let key: Vec<u32> = idx
                    .iter()
                    .zip(&lred)
                    .filter(|(_, &r)| !r)
                    .map(|(&i, _)| i)
                    .collect();
                let g = *keys.entry(key).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[g].push(l as usize);
            }
            (cshape, caxes, groups)
        };
        let arg = self.range(v[0]);
        let out = groups
            .into_iter()
            .map(|g| {
                let leaves: Vec<Bus> = g.iter().map(|&l| v[l]).collect();
                self.fold(n, op, d, arg, leaves, &cshape, &caxes)
            })
            .collect();
        Some(W::Lanes(out))
    }

    /// Lanes of one cycle folded by a tree, then over the cycles' axes `caxes`
    /// of `cshape` (none: the tree's root).
    #[allow(clippy::too_many_arguments)]
    fn fold(
        &mut self,
        n: &Node,
        op: ReduceOp,
        d: DType,
        arg: Interval,
        leaves: Vec<Bus>,
        cshape: &[u32],
        caxes: &[u32],
    ) -> Bus {
        let (root, fop) = if leaves.len() == 1 {
            (leaves[0], op)
        } else {
            self.reduce_tree(op, d, arg, leaves, n.span)
        };
        if caxes.is_empty() {
            return root;
        }
        let s = proc::reduce::schedule(&self.sched(root), cshape, caxes);
        let kind = ProcKind::Reduce(Reduce {
            op: fop,
            dtype: d,
            arg: root,
            shape: cshape.to_vec(),
            axes: caxes.to_vec(),
        });
        self.push(kind, n.range, s, n.span)
    }

    /// A full reduction (not `argmax`/`argmin`) of a selection whose lanes
    /// share one pattern: the lanes' elements are folded where they arrived,
    /// in no particular order (wrapping sums, extremes, counts and logic do not
    /// depend on it), with no gearbox. `None` when it does not apply.
    fn reduce_selected(&mut self, n: &Node, p: &Reduce) -> Option<W> {
        let Some(W::Selected(sel)) = self.map[p.arg.index()].clone() else {
            return None;
        };
        let all = (0..p.shape.len() as u32).all(|i| p.axes.contains(&i));
        if !all || matches!(p.op, ReduceOp::ArgMax | ReduceOp::ArgMin) || sel.lanes.is_empty() {
            return None;
        }
        let buses: Vec<Bus> = sel.lanes.iter().map(|x| x.1).collect();
        let first = self.sched(buses[0]);
        if buses.iter().any(|&b| !self.sched(b).same_pattern(&first)) {
            return None;
        }
        let leaves = self.align(&buses);
        let arg = self.range(leaves[0]);
        let c = first.elements();
        let root = self.fold(n, p.op, p.dtype, arg, leaves, &[c], &[0]);
        Some(W::Lanes(vec![root]))
    }

    /// The index bits `K` of `argmax`/`argmin` keys `value * 2^K + rank` over
    /// `positions` positions of values in `arg`, and the keys' values; `None`
    /// (a diagnostic) when value and index do not fit 64 bits together.
    pub(super) fn arg_keys(
        &mut self,
        n: &Node,
        op: ReduceOp,
        lanes: u32,
        positions: u32,
        arg: Interval,
    ) -> Option<(u32, Interval)> {
        let k = 32 - (positions - 1).max(1).leading_zeros();
        let keys = Interval::new(arg.lo << k, (arg.hi << k) + (1i128 << k) - 1);
        if keys.within(Interval::of(DType::I64)) {
            return Some((k, keys));
        }
        self.fail(
            n.span,
            format!(
                "`{}` over {lanes} lanes of values in [{}, {}]: value and index do not fit 64 bits together",
                op.name(),
                arg.lo,
                arg.hi
            ),
            "build it with --lanes 1, or narrow the values first",
        );
        None
    }

    /// The index that the best key's low `k` bits give: the rank itself for
    /// argmin, reversed (`top`, the last position, minus the rank) for argmax.
    pub(super) fn key_index(&mut self, n: &Node, best: Bus, k: u32, top: Option<i128>) -> Bus {
        let mask = (1i128 << k) - 1;
        let kind = ProcKind::Binary(BinaryOp::And, DType::I64, Src::Bus(best), Src::Const(mask));
        let low = self.after(kind, Interval::new(0, mask), best, n.span);
        let Some(top) = top else {
            return low;
        };
        let kind = ProcKind::Binary(BinaryOp::Sub, DType::I64, Src::Const(top), Src::Bus(low));
        self.after(kind, n.range, low, n.span)
    }

    /// `argmax`/`argmin` over lanes. Each element becomes a key `value * 2^K + rank`,
    /// where `rank` orders the positions along the reduced axis — reversed for
    /// argmax — so that the largest (smallest) key is numpy's first maximal
    /// (minimal) element. A max (min) tree combines a cycle's lanes, a max (min)
    /// reduction the cycles, and the key's low K bits give the index. The rank's
    /// cycle part comes from a running count of the cycles (a `cumsum` of ones).
    pub(super) fn arg_reduce(
        &mut self,
        n: &Node,
        op: ReduceOp,
        v: Vec<Bus>,
        shape: &[u32],
        axes: &[u32],
    ) -> Option<W> {
        let lanes = v.len() as u32;
        let span = n.span;
        let max = op == ReduceOp::ArgMax;
        // a flat argmax is one over the flattened array
        let (vshape, ax) = if axes.len() == shape.len() {
            (vec![numel(shape) as u32], 0usize)
        } else {
            (shape.to_vec(), axes[0] as usize)
        };
        let Some(sp) = split(&vshape, lanes) else {
            // along rows that straddle cycles
            let width = vshape[ax];
            if ax + 1 == vshape.len() && width > lanes {
                return self.arg_segmented(n, op, v, width);
            }
            return self.fail(
                span,
                format!(
                    "`{}` over axis {ax} of {shape:?}, whose rows do not line up with {lanes} lanes",
                    op.name()
                ),
                "use a lane count that divides the last axis, or that the last axes divide",
            );
        };
        let positions = vshape[ax];
        let arg = self.range(v[0]);
        let (k, keys) = self.arg_keys(n, op, lanes, positions, arg)?;
        let cshape = sp.cycle_shape(&vshape);
        let lshape = sp.lane_shape(&vshape);
        // the rank of lane `l`'s element: its lane part, and the multiplier of the
        // cycle part (the position of the cycle along the reduced axis)
        let (lane_axis, step) = match ax.cmp(&sp.r) {
            std::cmp::Ordering::Less => (None, 1),
            std::cmp::Ordering::Equal => (Some(0), sp.b),
            std::cmp::Ordering::Greater => (Some(ax - sp.r), 0),
        };
        let caxes: Vec<u32> = if ax <= sp.r { vec![ax as u32] } else { vec![] };
        let i64r = Interval::of(DType::I64);
        let bin = |w: &mut Self, b: BinaryOp, x: Src, y: Src, r: Interval, like: Bus| {
            w.after(ProcKind::Binary(b, DType::I64, x, y), r, like, span)
        };
        // the cycle part of the rank, times `step`
        let cycle_part = if caxes.is_empty() || cshape[ax] == 1 {
            None
        } else {
            // the cycle's number in the frame, from a running count of ones
            let frame: u32 = cshape.iter().product();
            let stride: u32 = cshape[ax + 1..].iter().product();
            let kind = ProcKind::Compare(CmpOp::Eq, Src::Bus(v[0]), Src::Bus(v[0]));
            let one = self.after(kind, Interval::new(1, 1), v[0], span);
            let kind = ProcKind::Scan(DType::I64, one, frame);
            let count = self.after(kind, Interval::new(1, frame as i128), one, span);
            let q = Interval::new(0, frame as i128 - 1);
            let mut c = bin(
                self,
                BinaryOp::Sub,
                Src::Bus(count),
                Src::Const(1),
                q,
                count,
            );
            if stride > 1 {
                let r = Interval::new(0, (frame / stride) as i128 - 1);
                c = bin(
                    self,
                    BinaryOp::FloorDiv,
                    Src::Bus(c),
                    Src::Const(stride as i128),
                    r,
                    c,
                );
            }
            if ax > 0 {
                let r = Interval::new(0, cshape[ax] as i128 - 1);
                c = bin(
                    self,
                    BinaryOp::Mod,
                    Src::Bus(c),
                    Src::Const(cshape[ax] as i128),
                    r,
                    c,
                );
            }
            if step > 1 {
                let r = Interval::new(0, (cshape[ax] as i128 - 1) * step as i128);
                c = bin(
                    self,
                    BinaryOp::Mul,
                    Src::Bus(c),
                    Src::Const(step as i128),
                    r,
                    c,
                );
            }
            Some(c)
        };
        // group the lanes that differ only along the reduced axis
        let mut groups: Vec<Vec<u32>> = Vec::new();
        let mut ids: HashMap<Vec<u32>, usize> = HashMap::new();
        for l in 0..lanes {
            let mut idx = unravel(l, &lshape);
            if let Some(j) = lane_axis {
                idx[j] = 0;
            }
            let g = *ids.entry(idx).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[g].push(l);
        }
        let (top, pick) = if max {
            (positions as i128 - 1, BinaryOp::Max)
        } else {
            (0, BinaryOp::Min)
        };
        let mut out = Vec::with_capacity(groups.len());
        for g in groups {
            let mut leaves = Vec::with_capacity(g.len());
            for &l in &g {
                let lane_rank = lane_axis.map_or(0, |j| unravel(l, &lshape)[j] as i128);
                let x = v[l as usize];
                let shifted = bin(
                    self,
                    BinaryOp::Shl,
                    Src::Bus(x),
                    Src::Const(k as i128),
                    i64r,
                    x,
                );
                // argmax: value * 2^K + (positions - 1 - rank); argmin: value * 2^K + rank
                let fixed = if max { top - lane_rank } else { lane_rank };
                let mut key = bin(
                    self,
                    BinaryOp::Add,
                    Src::Bus(shifted),
                    Src::Const(fixed),
                    keys,
                    shifted,
                );
                if let Some(c) = cycle_part {
                    let ab = self.align(&[key, c]);
                    let b = if max { BinaryOp::Sub } else { BinaryOp::Add };
                    key = bin(self, b, Src::Bus(ab[0]), Src::Bus(ab[1]), keys, ab[0]);
                }
                leaves.push(key);
            }
            let root = self.tree(leaves, |w, x, y, _| {
                bin(w, pick, Src::Bus(x), Src::Bus(y), keys, x)
            });
            let best = if caxes.is_empty() {
                root
            } else {
                let rop = if max { ReduceOp::Max } else { ReduceOp::Min };
                let s = proc::reduce::schedule(&self.sched(root), &cshape, &caxes);
                let kind = ProcKind::Reduce(Reduce {
                    op: rop,
                    dtype: DType::I64,
                    arg: root,
                    shape: cshape.clone(),
                    axes: caxes.clone(),
                });
                self.push(kind, keys, s, span)
            };
            out.push(self.key_index(n, best, k, max.then_some(top)));
        }
        Some(W::Lanes(out))
    }

    /// Combines lanes of one cycle for a reduction; the root and the reduction that
    /// goes on over the cycles.
    pub(super) fn reduce_tree(
        &mut self,
        op: ReduceOp,
        d: DType,
        arg: Interval,
        leaves: Vec<Bus>,
        span: Span,
    ) -> (Bus, ReduceOp) {
        let (leaves, leaf, fop) = self.fold_leaves(op, d, arg, leaves, span);
        (self.combine(fop, d, leaf, 1, leaves, span), fop)
    }

    /// The leaves of a reduction's tree: the lanes as the tree folds them (0/1
    /// for a count of nonzero elements, and for `any`/`all` of other values;
    /// cast to the dtype where the values leave it), their values, and the
    /// reduction that folds them.
    pub(super) fn fold_leaves(
        &mut self,
        op: ReduceOp,
        d: DType,
        arg: Interval,
        leaves: Vec<Bus>,
        span: Span,
    ) -> (Vec<Bus>, Interval, ReduceOp) {
        let nonzero = |w: &mut Self, x: Bus| {
            w.after(
                ProcKind::Compare(CmpOp::Ne, Src::Bus(x), Src::Const(0)),
                Interval::new(0, 1),
                x,
                span,
            )
        };
        let bit = Interval::new(0, 1);
        match op {
            ReduceOp::CountNonzero => {
                let l = leaves.iter().map(|&x| nonzero(self, x)).collect();
                (l, bit, ReduceOp::Sum)
            }
            ReduceOp::Sum if !arg.within(Interval::of(d)) => {
                let l = leaves
                    .iter()
                    .map(|&x| self.after(ProcKind::Cast(d, Src::Bus(x)), Interval::of(d), x, span))
                    .collect();
                (l, Interval::of(d), op)
            }
            ReduceOp::Any | ReduceOp::All if !arg.within(bit) => {
                let l = leaves.iter().map(|&x| nonzero(self, x)).collect();
                (l, bit, op)
            }
            ReduceOp::Sum | ReduceOp::Min | ReduceOp::Max | ReduceOp::Any | ReduceOp::All => {
                (leaves, arg, op)
            }
            ReduceOp::ArgMax | ReduceOp::ArgMin => {
                unreachable!("argmax and argmin widen through `arg_reduce`, before any tree")
            }
        }
    }

    /// A pipelined tree folding `leaves` (each standing for `per` elements of
    /// values in `leaf`) by `op`, one of the reductions a tree folds.
    pub(super) fn combine(
        &mut self,
        op: ReduceOp,
        d: DType,
        leaf: Interval,
        per: u32,
        leaves: Vec<Bus>,
        span: Span,
    ) -> Bus {
        let b = match op {
            ReduceOp::Sum => BinaryOp::Add,
            ReduceOp::Min => BinaryOp::Min,
            ReduceOp::Max => BinaryOp::Max,
            ReduceOp::Any => BinaryOp::Or,
            ReduceOp::All => BinaryOp::And,
            ReduceOp::CountNonzero | ReduceOp::ArgMax | ReduceOp::ArgMin => {
                unreachable!("folded through `fold_leaves` first")
            }
        };
        let dt = if matches!(op, ReduceOp::Any | ReduceOp::All) {
            DType::Bool
        } else {
            d
        };
        self.tree(leaves, |w, x, y, k| {
            let r = if op == ReduceOp::Sum {
                sum_range(leaf, k * per, d)
            } else {
                leaf
            };
            w.after(
                ProcKind::Binary(b, dt, Src::Bus(x), Src::Bus(y)),
                r,
                x,
                span,
            )
        })
    }

    /// A reduction (not an `argmax`/`argmin`: [`Widen::arg_segmented`]) over
    /// rows of `width` elements that the lanes do not divide (`width > lanes`),
    /// so that rows straddle cycles ([`Widen::segment_fold`]).
    pub(super) fn segmented(
        &mut self,
        n: &Node,
        op: ReduceOp,
        d: DType,
        v: Vec<Bus>,
        width: u32,
    ) -> Option<W> {
        let arg = self.range(v[0]);
        let (leaves, leaf, fop) = self.fold_leaves(op, d, arg, v, n.span);
        let root = self.segment_fold(fop, d, leaf, leaves, width, n.span);
        Some(W::Lanes(vec![root]))
    }

    /// Folds `leaves` (a stream's lanes, values in `leaf`) by `op` over rows of
    /// `width > lanes` elements: row boundaries fall on multiples of `g =
    /// gcd(width, lanes)` lanes, so plain trees first fold blocks of `g` lanes;
    /// each block then goes through a [`ProcKind::Segment`] that splits its
    /// stream at the row boundaries, and a tree folds the blocks' parts of each
    /// row, which leave one per cycle in the cycles where rows end.
    pub(super) fn segment_fold(
        &mut self,
        op: ReduceOp,
        d: DType,
        leaf: Interval,
        leaves: Vec<Bus>,
        width: u32,
        span: Span,
    ) -> Bus {
        let lanes = leaves.len() as u32;
        let g = gcd(width, lanes);
        let blocks: Vec<Bus> = leaves
            .chunks(g as usize)
            .map(|c| self.combine(op, d, leaf, 1, c.to_vec(), span))
            .collect();
        let blocks = self.align(&blocks);
        let (bw, bl) = (width / g, lanes / g);
        let per = g * bw.div_ceil(bl);
        let part = if op == ReduceOp::Sum {
            sum_range(leaf, per, d)
        } else {
            leaf
        };
        let parts: Vec<Bus> = blocks
            .iter()
            .enumerate()
            .map(|(j, &x)| {
                let kind = ProcKind::Segment(Segment {
                    op,
                    d,
                    arg: x,
                    width: bw,
                    lane: j as u32,
                    lanes: bl,
                });
                let s = proc::segment::schedule(&self.sched(x), bw, bl);
                self.push(kind, part, s, span)
            })
            .collect();
        self.combine(op, d, leaf, per, parts, span)
    }

    /// `argmax`/`argmin` along rows that straddle cycles: each element's key is
    /// `value * 2^K + rank`, its rank its column (a wrapping [`ProcKind::Iota`]
    /// per lane), reversed for argmax, so that the largest (smallest) key of a
    /// row is numpy's first maximal (minimal) element; the keys' row maxima
    /// (minima) come from [`Widen::segment_fold`], and their low K bits give the
    /// column.
    pub(super) fn arg_segmented(
        &mut self,
        n: &Node,
        op: ReduceOp,
        v: Vec<Bus>,
        width: u32,
    ) -> Option<W> {
        let (lanes, span, max) = (v.len() as u32, n.span, op == ReduceOp::ArgMax);
        let arg = self.range(v[0]);
        let (k, keys) = self.arg_keys(n, op, lanes, width, arg)?;
        let top = width as i128 - 1;
        let bin = |w: &mut Self, b: BinaryOp, x: Src, y: Src, r: Interval, like: Bus| {
            w.after(ProcKind::Binary(b, DType::I64, x, y), r, like, span)
        };
        let mut leaves = Vec::with_capacity(v.len());
        for (l, &x) in v.iter().enumerate() {
            let kind = ProcKind::Iota {
                timing: x,
                first: l as u32 % width,
                step: lanes % width,
                wrap: Some(width),
            };
            let cols = Interval::new(0, top);
            let col = self.push(kind, cols, proc::iota::schedule(&self.sched(x)), span);
            let rank = if max {
                bin(
                    self,
                    BinaryOp::Sub,
                    Src::Const(top),
                    Src::Bus(col),
                    cols,
                    col,
                )
            } else {
                col
            };
            let shifted = bin(
                self,
                BinaryOp::Shl,
                Src::Bus(x),
                Src::Const(k as i128),
                Interval::of(DType::I64),
                x,
            );
            let ab = self.align(&[shifted, rank]);
            leaves.push(bin(
                self,
                BinaryOp::Add,
                Src::Bus(ab[0]),
                Src::Bus(ab[1]),
                keys,
                ab[0],
            ));
        }
        let leaves = self.align(&leaves);
        let fop = if max { ReduceOp::Max } else { ReduceOp::Min };
        let best = self.segment_fold(fop, DType::I64, keys, leaves, width, span);
        Some(W::Lanes(vec![self.key_index(
            n,
            best,
            k,
            max.then_some(top),
        )]))
    }
}
