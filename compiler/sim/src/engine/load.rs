//! States: memories read by `load` processes and written back from each
//! state's `next` output after every block.
//!
//! A block never holds both a write of a state element and the next frame's read
//! of it: [`Engine::new`] bounds the block by the network's
//! [`hissc_spn::proc::load::slack`], so applying a block's writes after its reads
//! gives the hardware's order (a write is seen from the cycle after it).

#![allow(missing_docs)] // the state fields are named in each struct's doc

use super::Engine;
use crate::slots::{alloc, slot};
use hissc_spn::Bus;

impl Engine {
    /// One `Load` process over cycles `0..n` of the block.
    pub(super) fn load(&mut self, x: &Load, n: usize) {
        let row = self.row;
        let at = |s: u32, t: usize| s as usize * row + t;
        let mem = &self.mems[x.state];
        for t in 0..n {
            let (o, tm) = (at(x.dst, t), at(x.timing, t));
            self.val[o + 1] = self.val[o];
            self.vld[o + 1] = self.vld[tm];
            if self.vld[tm] {
                let q = self.st[x.rcnt] as usize;
                self.val[o + 1] = mem[q * x.banks + x.lane];
                self.st[x.rcnt] = ((q + 1) % x.depth) as i128;
            }
        }
    }

    /// Writes the states' `next` values of cycles `0..n` of the block into their memories.
    pub(super) fn store(&mut self, n: usize) {
        let row = self.row;
        for s in &mut self.stores {
            let mem = &mut self.mems[s.state];
            for (l, (&bus, w)) in s.slots.iter().zip(s.wcnt.iter_mut()).enumerate() {
                let at = bus as usize * row;
                for t in 0..n {
                    if self.vld[at + t] {
                        mem[*w * s.banks + l] = self.val[at + t];
                        *w = (*w + 1) % s.depth;
                    }
                }
            }
        }
    }
}

/// A load of bank `lane` of state `state` (banks of `depth` elements): its read
/// counter at `rcnt`.
#[derive(Clone, Debug)]
pub struct Load {
    pub dst: u32,
    pub timing: u32,
    pub state: usize,
    pub lane: usize,
    pub banks: usize,
    pub depth: usize,
    pub rcnt: usize,
}

impl Load {
    /// The load of bank `lane` of state `state` along `timing`.
    pub(crate) fn op(
        net: &hissc_spn::Network,
        dst: u32,
        state: u32,
        lane: u32,
        timing: Bus,
        st: &mut usize,
    ) -> Self {
        let s = &net.states[state as usize];
        Load {
            dst,
            timing: slot(timing),
            state: state as usize,
            lane: lane as usize,
            banks: s.lanes.max(1) as usize,
            depth: hissc_spn::proc::load::bank_depth(net, state as usize).max(1) as usize,
            rcnt: alloc(1, st),
        }
    }
}

/// The write side of a state: the `next` output's slot per bank and each bank's
/// write counter (not in the private state area: a reset clears them with the
/// other counters, never the memory).
#[derive(Clone, Debug)]
pub struct Store {
    pub state: usize,
    pub banks: usize,
    pub depth: usize,
    pub slots: Vec<u32>,
    pub wcnt: Vec<usize>,
}

impl Store {
    /// The stores of every state of `net`.
    pub(crate) fn all(net: &hissc_spn::Network) -> Vec<Store> {
        net.states
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let slots: Vec<u32> = net.outputs[s.next as usize]
                    .lanes
                    .iter()
                    .map(|&b| slot(b))
                    .collect();
                Store {
                    state: i,
                    banks: s.lanes.max(1) as usize,
                    depth: hissc_spn::proc::load::bank_depth(net, i).max(1) as usize,
                    wcnt: vec![0; slots.len()],
                    slots,
                }
            })
            .collect()
    }
}
