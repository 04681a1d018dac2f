//! Flat indices: the `k`-th valid element of a frame's timing stream gives
//! `first + k * step` (modulo `wrap`).

#![allow(missing_docs)] // the state fields are named in the struct's doc

use super::Engine;
use crate::slots::{alloc, slot};
use hissc_spn::Bus;

impl Engine {
    /// One `Iota` process over cycles `0..n` of the block.
    pub(super) fn iota(&mut self, x: &Iota, n: usize) {
        let row = self.row;
        let at = |s: u32, t: usize| s as usize * row + t;
        for t in 0..n {
            let (o, tm) = (at(x.dst, t), at(x.timing, t));
            self.val[o + 1] = self.val[o];
            self.vld[o + 1] = self.vld[tm];
            if self.vld[tm] {
                let k = self.st[x.cnt];
                let v = x.first + k * x.step;
                self.val[o + 1] = if x.wrap > 0 { v % x.wrap } else { v };
                self.st[x.cnt] = (k + 1) % x.count;
            }
        }
    }
}

/// An index counter over `count` elements per frame: its count at `cnt`.
#[derive(Clone, Debug)]
pub struct Iota {
    pub dst: u32,
    pub timing: u32,
    pub first: i128,
    pub step: i128,
    pub count: i128,
    /// The modulus (0: none).
    pub wrap: i128,
    pub cnt: usize,
}

impl Iota {
    /// The counter of `timing`'s valid elements.
    pub(crate) fn op(
        net: &hissc_spn::Network,
        dst: u32,
        timing: Bus,
        (first, step, wrap): (u32, u32, Option<u32>),
        st: &mut usize,
    ) -> Self {
        Iota {
            dst,
            timing: slot(timing),
            first: first as i128,
            step: step as i128,
            count: net.nodes[timing].sched.elements().max(1) as i128,
            wrap: wrap.unwrap_or(0) as i128,
            cnt: alloc(1, st),
        }
    }
}
