//! Gearboxes: a queue filled in lane order, a group out per cycle.

#![allow(missing_docs)] // the state fields are named in each struct's doc

use super::Engine;
use crate::slots::{alloc, slot};
use hissc_spn::{Bus, Network};

impl Engine {
    /// One `Pack` process over cycles `0..n` of the block.
    pub(super) fn pack(&mut self, x: &Pack, n: usize) {
        let row = self.row;
        // cell t of bus `s`
        let at = |s: u32, t: usize| s as usize * row + t;
        let Pack {
            dst,
            lanes,
            width,
            lane,
            buf,
            held,
        } = x;

        let (width, mut k) = (*width as usize, self.st[*held] as usize);
        for t in 0..n {
            let o = at(*dst, t);
            // this cycle's elements join the queue in lane order
            for &l in lanes {
                let i = at(l, t);
                if self.vld[i] {
                    self.st[buf + k] = self.val[i];
                    k += 1;
                }
            }
            // a whole group leaves (this process drives element `lane`)
            if k >= width {
                self.val[o + 1] = self.st[buf + *lane as usize];
                self.vld[o + 1] = true;
                self.st.copy_within(buf + width..buf + k, *buf);
                k -= width;
            } else {
                self.val[o + 1] = self.val[o];
                self.vld[o + 1] = false;
            }
        }
        self.st[*held] = k as i128;
    }
}

/// Gearbox: a queue of `depth` elements at `buf`, its length at `held`.
#[derive(Clone, Debug)]
pub struct Pack {
    pub dst: u32,
    pub lanes: Vec<u32>,
    pub width: u32,
    pub lane: u32,
    pub buf: usize,
    pub held: usize,
}

impl Pack {
    /// A gearbox with the queue depth [`hissc_spn::proc::pack::depth`] gives.
    pub(crate) fn op(
        net: &Network,
        dst: u32,
        lanes: &[Bus],
        width: u32,
        lane: u32,
        st: &mut usize,
    ) -> Self {
        let depth = hissc_spn::proc::pack::depth(net, lanes, width) as usize;
        Pack {
            dst,
            lanes: lanes.iter().map(|&b| slot(b)).collect(),
            width,
            lane,
            buf: alloc(depth, st),
            held: alloc(1, st),
        }
    }
}
