//! Bin counts: two banks, one counting while the other streams out after the plan's latency.

#![allow(missing_docs)] // the state fields are named in each struct's doc

use super::Engine;
use crate::slots::{alloc, slot};
use hissc_spn::{Bus, Network};

impl Engine {
    /// One `Bincount` process over cycles `0..n` of the block.
    pub(super) fn bincount(&mut self, x: &Bincount, n: usize) {
        let row = self.row;
        // cell t of bus `s`
        let at = |s: u32, t: usize| s as usize * row + t;
        let Bincount {
            dst,
            x,
            w,
            m,
            bins,
            count,
            float,
            start,
            mem,
            state,
        } = *x;

        let (cnt, bank, rd, rbank) = (state, state + 1, state + 2, state + 3);
        for t in 0..n {
            let o = at(dst, t);
            // stream out the finished bank, clearing it as it goes (after a
            // countdown from `start`: the hardware's block RAM pipeline)
            self.val[o + 1] = self.val[o];
            self.vld[o + 1] = false;
            if self.st[rd] < 0 {
                self.st[rd] += 1;
            } else if (self.st[rd] as u32) < bins {
                let a = mem + (self.st[rbank] as usize) * bins as usize + self.st[rd] as usize;
                let v = self.st[a];
                self.val[o + 1] = if float {
                    (v as f64).to_bits() as i128
                } else {
                    v
                };
                self.vld[o + 1] = true;
                self.st[a] = 0;
                self.st[rd] += 1;
            }
            let xi = at(x, t);
            if self.vld[xi] {
                if m.is_none_or(|m| self.val[at(m, t)] != 0) {
                    let a = mem + (self.st[bank] as usize) * bins as usize + self.val[xi] as usize;
                    self.st[a] += w.map_or(1, |w| self.val[at(w, t)]);
                }
                self.st[cnt] += 1;
                if self.st[cnt] as u32 == count {
                    self.st[cnt] = 0;
                    self.st[rbank] = self.st[bank];
                    self.st[bank] ^= 1;
                    self.st[rd] = start;
                }
            }
        }
    }
}

/// Bin counting; state: two banks of `bins` at `mem`, then at `state`: the
/// element counter, the counting bank, the read position (`bins` when idle)
/// and the bank being read.
#[derive(Clone, Debug)]
pub struct Bincount {
    pub dst: u32,
    pub x: u32,
    pub w: Option<u32>,
    pub m: Option<u32>,
    pub bins: u32,
    pub count: u32,
    pub float: bool,
    /// Where the readout's countdown starts after a frame's last element: the
    /// first count leaves [`hissc_spn::proc::bincount::Plan::latency`] cycles later
    /// (two cycles to reach 0, then the registered read).
    pub start: i128,
    pub mem: usize,
    pub state: usize,
}

impl Bincount {
    /// The bin count `b`: two banks of counters and its pipeline's state, its
    /// latency from [`hissc_spn::proc::bincount::plan`].
    pub(crate) fn op(net: &Network, b: Bus, p: &hissc_spn::ir::Bincount, st: &mut usize) -> Self {
        let (x, weights, mask) = (p.x, p.weights, p.mask);
        let (bins, count, float) = (p.bins, p.count, p.float);
        let plan = hissc_spn::proc::bincount::plan(net, p);
        Bincount {
            dst: slot(b),
            x: slot(x),
            w: weights.map(slot),
            m: mask.map(slot),
            bins,
            count,
            float,
            start: 2 - plan.latency as i128,
            mem: alloc(2 * bins as usize, st),
            state: alloc(4, st),
        }
    }
}
