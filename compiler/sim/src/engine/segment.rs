//! Row segments: one lane's part of a reduction over rows that straddle cycles
//! ([`hissc_spn::proc::segment`]).

#![allow(missing_docs)] // the state fields are named in the struct's doc

use super::Engine;
use crate::flat::{alloc, slot, Op};
use hissc_aop::{semantics, DType, ReduceOp};
use hissc_spn::Bus;

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
            lane,
            lanes,
            acc,
            col,
        } = *x;
        let (w, lane, lanes) = (width as i128, lane as i128, lanes as i128);
        for t in 0..n {
            let (o, i) = (at(dst, t), at(arg, t));
            self.val[o + 1] = self.val[o];
            self.vld[o + 1] = false;
            if !self.vld[i] {
                continue;
            }
            let c0 = self.st[col];
            let wrapped = c0 >= w - lane;
            let first = wrapped || c0 < lanes - lane;
            let prev = if first {
                semantics::reduce_identity(op, d)
            } else {
                self.st[acc]
            };
            let cur = semantics::reduce_step(op, d, prev, self.val[i]);
            if c0 >= w - lanes {
                self.val[o + 1] = if wrapped { self.st[acc] } else { cur };
                self.vld[o + 1] = true;
            }
            self.st[acc] = cur;
            self.st[col] = if c0 >= w - lanes {
                c0 + lanes - w
            } else {
                c0 + lanes
            };
        }
    }
}

/// One lane's row segments; state: the accumulator at `acc`, the column of the
/// cycle's first element at `col`.
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    pub dst: u32,
    pub arg: u32,
    pub op: ReduceOp,
    pub d: DType,
    pub width: u32,
    pub lane: u32,
    pub lanes: u32,
    pub acc: usize,
    pub col: usize,
}

impl Segment {
    /// Lane `lane` of `lanes`' segments of rows of `width`.
    pub(crate) fn op(
        dst: u32,
        (op, d): (ReduceOp, DType),
        a: Bus,
        (width, lane, lanes): (u32, u32, u32),
        st: &mut usize,
    ) -> Op {
        Op::Segment(Segment {
            dst,
            arg: slot(a),
            op,
            d,
            width,
            lane,
            lanes,
            acc: alloc(1, st),
            col: alloc(1, st),
        })
    }
}
