//! Delay lines: a ring of `n - 1` cells (and a register).

#![allow(missing_docs)] // the state fields are named in each struct's doc

use super::Engine;
use crate::slots::{alloc, slot};
use hissc_spn::Bus;

impl Engine {
    /// One `Delay` process over cycles `0..n` of the block.
    pub(super) fn delay(&mut self, x: &Delay, n: usize) {
        let row = self.row;
        // cell t of bus `s`
        let at = |s: u32, t: usize| s as usize * row + t;
        let Delay {
            dst,
            arg,
            ring,
            n: depth,
            pos,
        } = *x;

        let (d, s) = (at(dst, 1), at(arg, 0));
        if depth == 1 {
            self.val.copy_within(s..s + n, d);
            self.vld.copy_within(s..s + n, d);
        } else {
            let len = depth as usize - 1;
            let mut p = self.st[pos] as usize;
            for t in 0..n {
                let r = ring + 2 * p;
                self.val[d + t] = self.st[r];
                self.vld[d + t] = self.st[r + 1] != 0;
                self.st[r] = self.val[s + t];
                self.st[r + 1] = self.vld[s + t] as i128;
                p += 1;
                if p == len {
                    p = 0;
                }
            }
            self.st[pos] = p as i128;
        }
    }
}

/// Delay line of `n` cycles; state: `n - 1` (data, valid) pairs and a position.
#[derive(Clone, Debug)]
pub struct Delay {
    pub dst: u32,
    pub arg: u32,
    pub ring: usize,
    pub n: u32,
    pub pos: usize,
}

impl Delay {
    /// A delay of `n` cycles: a ring of the values in flight.
    pub(crate) fn op(dst: u32, a: Bus, n: u32, st: &mut usize) -> Self {
        Delay {
            dst,
            arg: slot(a),
            ring: alloc(2 * (n as usize - 1), st),
            n,
            pos: alloc(1, st),
        }
    }
}
