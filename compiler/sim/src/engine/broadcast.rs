//! Broadcasts: a stored short stream replayed to a larger shape.

#![allow(missing_docs)] // the state fields are named in each struct's doc

use super::Engine;
use crate::flat::{alloc, slot, Op};
use hissc_aop::types::numel;
use hissc_spn::Bus;

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
            wcnt,
            rcnt,
            to,
            strides,
        } = x;

        for t in 0..n {
            let (o, i, tm) = (at(*dst, t), at(*arg, t), at(*timing, t));
            let w = self.st[*wcnt] as usize;
            let writing = self.vld[i];
            self.val[o + 1] = self.val[o];
            self.vld[o + 1] = self.vld[tm];
            if self.vld[tm] {
                let mut src = 0usize;
                for (k, s) in strides.iter().enumerate() {
                    src += self.st[rcnt + k] as usize * *s as usize;
                }
                self.val[o + 1] = if writing && w == src {
                    self.val[i]
                } else {
                    self.st[mem + src]
                };
                // advance the read counters, innermost axis first
                for k in (0..to.len()).rev() {
                    self.st[rcnt + k] += 1;
                    if self.st[rcnt + k] as u32 == to[k] {
                        self.st[rcnt + k] = 0;
                    } else {
                        break;
                    }
                }
            }
            if writing {
                self.st[mem + w] = self.val[i];
                self.st[*wcnt] = ((w + 1) % *len as usize) as i128;
            }
        }
    }
}

/// Broadcast memory; state: `mem..mem+len`, write counter, read counters.
#[derive(Clone, Debug)]
pub struct Broadcast {
    pub dst: u32,
    pub arg: u32,
    pub timing: u32,
    pub mem: usize,
    pub len: u32,
    pub wcnt: usize,
    pub rcnt: usize,
    pub to: Vec<u32>,
    pub strides: Vec<u32>,
}

impl Broadcast {
    /// A broadcast from `from` to `to`: the stored frame and its counters.
    pub(crate) fn op(
        dst: u32,
        arg: Bus,
        timing: Bus,
        from: &[u32],
        to: &[u32],
        st: &mut usize,
    ) -> Op {
        let len = numel(from) as u32;
        Op::Broadcast(Broadcast {
            dst,
            arg: slot(arg),
            timing: slot(timing),
            mem: alloc(len as usize, st),
            len,
            wcnt: alloc(1, st),
            rcnt: alloc(to.len(), st),
            to: to.to_vec(),
            strides: hissc_spn::proc::broadcast::strides(from, to),
        })
    }
}
