//! Merges: per stream a queue; each cycle the stream whose turn it is gives its
//! oldest element, if it has arrived.

#![allow(missing_docs)] // the state fields are named in the struct's doc

use super::Engine;
use crate::slots::{alloc, slot};
use hissc_spn::{Bus, Network};

impl Engine {
    /// One `Merge` process over cycles `0..n` of the block.
    pub(super) fn merge(&mut self, x: &Merge, n: usize) {
        let row = self.row;
        let at = |s: u32, t: usize| s as usize * row + t;
        for t in 0..n {
            let o = at(x.dst, t);
            // this cycle's arrivals join their queues
            for (i, &s) in x.srcs.iter().enumerate() {
                let c = at(s, t);
                if self.vld[c] {
                    let k = self.st[x.held[i]] as usize;
                    self.st[x.bufs[i] + k] = self.val[c];
                    self.st[x.held[i]] = (k + 1) as i128;
                }
            }
            let cur = self.st[x.cur] as usize;
            let k = self.st[x.held[cur]] as usize;
            if k > 0 {
                let b = x.bufs[cur];
                self.val[o + 1] = self.st[b];
                self.vld[o + 1] = true;
                self.st.copy_within(b + 1..b + k, b);
                self.st[x.held[cur]] = (k - 1) as i128;
                let taken = self.st[x.taken] + 1;
                if taken == x.blocks[cur] as i128 {
                    self.st[x.taken] = 0;
                    self.st[x.cur] = ((cur + 1) % x.srcs.len()) as i128;
                } else {
                    self.st[x.taken] = taken;
                }
            } else {
                self.val[o + 1] = self.val[o];
                self.vld[o + 1] = false;
            }
        }
    }
}

/// A merge: per stream a queue at `bufs[i]` holding `held[i]`; whose turn it is
/// at `cur`, how many of its block it gave at `taken`.
#[derive(Clone, Debug)]
pub struct Merge {
    pub dst: u32,
    pub srcs: Vec<u32>,
    pub blocks: Vec<u32>,
    pub bufs: Vec<usize>,
    pub held: Vec<usize>,
    pub cur: usize,
    pub taken: usize,
}

impl Merge {
    /// A merge with the queue depths [`hissc_spn::proc::merge::depths`] gives.
    pub(crate) fn op(
        net: &Network,
        dst: u32,
        srcs: &[Bus],
        blocks: &[u32],
        reps: u32,
        st: &mut usize,
    ) -> Self {
        let depths = hissc_spn::proc::merge::depths(net, srcs, blocks, reps);
        Merge {
            dst,
            srcs: srcs.iter().map(|&b| slot(b)).collect(),
            blocks: blocks.to_vec(),
            bufs: depths
                .iter()
                .map(|&d| alloc(d.max(1) as usize, st))
                .collect(),
            held: srcs.iter().map(|_| alloc(1, st)).collect(),
            cur: alloc(1, st),
            taken: alloc(1, st),
        }
    }
}
