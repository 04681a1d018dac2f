//! Broadcasts: a stored short stream replayed to a larger shape, in one memory
//! bank or two ([`hissc_spn::proc::broadcast::Plan`]).

#![allow(missing_docs)] // the state fields are named in each struct's doc

use super::Engine;
use crate::slots::{alloc, slot};
use hissc_spn::{Bus, Network};

impl Engine {
    /// One `Broadcast` process over cycles `0..n` of the block.
    pub(super) fn broadcast(&mut self, x: &Broadcast, n: usize) {
        let row = self.row;
        // cell t of bus `s`
        let at = |s: u32, t: usize| s as usize * row + t;
        let Broadcast {
            dst,
            arg,
            timing,
            mem,
            len,
            banks,
            reads,
            wcnt,
            rcnt,
            ref to,
            ref strides,
            arg_lanes,
            ref start,
            ref step,
        } = *x;
        // after the read counters: whether they have started (a lane's counters
        // start at its first element), the banks written and read, the reads
        let (started, wb, rb, rk) = (rcnt + to.len(), wcnt + 1, wcnt + 2, wcnt + 3);
        if self.st[started] == 0 {
            for (k, &d) in start.iter().enumerate() {
                self.st[rcnt + k] = d as i128;
            }
            self.st[started] = 1;
        }

        for t in 0..n {
            let (o, i, tm) = (at(dst, t), at(arg, t), at(timing, t));
            let w = self.st[wcnt] as usize + self.st[wb] as usize * len as usize;
            let writing = self.vld[i];
            self.val[o + 1] = self.val[o];
            self.vld[o + 1] = self.vld[tm];
            if self.vld[tm] {
                let mut src = 0usize;
                for (k, s) in strides.iter().enumerate() {
                    src += self.st[rcnt + k] as usize * *s as usize;
                }
                let src = src / arg_lanes as usize + self.st[rb] as usize * len as usize;
                self.val[o + 1] = if writing && w == src {
                    self.val[i]
                } else {
                    self.st[mem + src]
                };
                // advance the read counters by the lanes, innermost axis first
                let mut carry = 0;
                for k in (0..to.len()).rev() {
                    let s = self.st[rcnt + k] + step[k] as i128 + carry;
                    carry = (s >= to[k] as i128) as i128;
                    self.st[rcnt + k] = s - carry * to[k] as i128;
                }
                // a frame's last read: the next frame reads the other bank
                self.st[rk] += 1;
                if self.st[rk] == reads as i128 {
                    self.st[rk] = 0;
                    self.st[rb] = (self.st[rb] + 1) % banks as i128;
                }
            }
            if writing {
                self.st[mem + w] = self.val[i];
                self.st[wcnt] += 1;
                if self.st[wcnt] == len as i128 {
                    self.st[wcnt] = 0;
                    self.st[wb] = (self.st[wb] + 1) % banks as i128;
                }
            }
        }
    }
}

/// Broadcast memory; state: `mem..mem + banks * len`, the write counter (then
/// the banks written and read and the reads of the frame), the read counters (a
/// multi-index over `to` from `start`, advanced by `step`, the lanes; then
/// whether they have started); the address is the index in `from` over
/// `arg_lanes`, in the bank.
#[derive(Clone, Debug)]
pub struct Broadcast {
    pub dst: u32,
    pub arg: u32,
    pub timing: u32,
    pub mem: usize,
    pub len: u32,
    pub banks: u32,
    pub reads: u32,
    pub wcnt: usize,
    pub rcnt: usize,
    pub to: Vec<u32>,
    pub strides: Vec<u32>,
    pub arg_lanes: u32,
    pub start: Vec<u32>,
    pub step: Vec<u32>,
}

impl Broadcast {
    /// The broadcast process `b`: its stored part of the frame (as its lane
    /// view says) in the banks its plan says, and its counters.
    pub(crate) fn op(net: &Network, b: Bus, p: &hissc_spn::ir::Broadcast, st: &mut usize) -> Self {
        let hissc_spn::ir::Broadcast {
            arg,
            timing,
            from,
            to,
            view,
        } = p;
        let plan = hissc_spn::proc::broadcast::plan(net, p);
        let (start, step) = hissc_spn::proc::broadcast::counts(to, *view);
        Broadcast {
            dst: slot(b),
            arg: slot(*arg),
            timing: slot(*timing),
            mem: alloc((plan.banks * plan.words) as usize, st),
            len: plan.words,
            banks: plan.banks,
            reads: plan.reads.max(1),
            wcnt: alloc(4, st),
            rcnt: alloc(to.len() + 1, st),
            to: to.to_vec(),
            strides: hissc_spn::proc::broadcast::strides(from, to),
            arg_lanes: view.arg_lanes,
            start,
            step,
        }
    }
}
