//! Row segments: one lane's part of a reduction over rows that straddle cycles,
//! steered by the comparisons its [`hissc_spn::proc::segment::Plan`] gives.

#![allow(missing_docs)] // the state fields are named in the struct's doc

use super::Engine;
use crate::slots::{alloc, slot};
use hissc_aop::{semantics, DType, ReduceOp};
use hissc_spn::{Bus, Network};

impl Engine {
    /// One `Segment` process over cycles `0..n` of the block.
    pub(super) fn segment(&mut self, x: &Segment, n: usize) {
        let row = self.row;
        // cell t of bus `s`
        let at = |s: u32, t: usize| s as usize * row + t;
        let Segment {
            dst,
            arg,
            op,
            d,
            width,
            lanes,
            ends_from,
            next_from,
            first_below,
            acc,
            col,
        } = *x;
        for t in 0..n {
            let (o, i) = (at(dst, t), at(arg, t));
            self.val[o + 1] = self.val[o];
            self.vld[o + 1] = false;
            if !self.vld[i] {
                continue;
            }
            let c0 = self.st[col];
            let next = c0 >= next_from;
            let prev = if next || c0 < first_below {
                semantics::reduce_identity(op, d)
            } else {
                self.st[acc]
            };
            let cur = semantics::reduce_step(op, d, prev, self.val[i]);
            let ends = c0 >= ends_from;
            if ends {
                self.val[o + 1] = if next { self.st[acc] } else { cur };
                self.vld[o + 1] = true;
            }
            self.st[acc] = cur;
            self.st[col] = c0 + lanes - if ends { width } else { 0 };
        }
    }
}

/// One lane's row segments; state: the accumulator at `acc`, the column of the
/// cycle's first element at `col`. The plan's comparisons: `next_from` is
/// beyond any column on lane 0.
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    pub dst: u32,
    pub arg: u32,
    pub op: ReduceOp,
    pub d: DType,
    pub width: i128,
    pub lanes: i128,
    pub ends_from: i128,
    pub next_from: i128,
    pub first_below: i128,
    pub acc: usize,
    pub col: usize,
}

impl Segment {
    /// The segment process `b`, as its plan says.
    pub(crate) fn op(net: &Network, b: Bus, seg: &hissc_spn::ir::Segment, st: &mut usize) -> Self {
        let (op, d, arg) = (seg.op, seg.d, seg.arg);
        let p = hissc_spn::proc::segment::plan(net, b, seg);
        Segment {
            dst: slot(b),
            arg: slot(arg),
            op,
            d,
            width: p.width as i128,
            lanes: p.lanes as i128,
            ends_from: p.ends_from as i128,
            next_from: p.next_from.map_or(i128::MAX, |x| x as i128),
            first_below: p.first_below as i128,
            acc: alloc(1, st),
            col: alloc(1, st),
        }
    }
}
