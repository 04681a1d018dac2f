//! Scans: a running sum that restarts every frame.

#![allow(missing_docs)] // the state fields are named in each struct's doc

use super::Engine;
use crate::slots::{alloc, slot};
use hissc_aop::DType;
use hissc_spn::Bus;

impl Engine {
    /// One `Scan` process over cycles `0..n` of the block.
    pub(super) fn scan(&mut self, x: &Scan, n: usize) {
        let row = self.row;
        // cell t of bus `s`
        let at = |s: u32, t: usize| s as usize * row + t;
        let Scan {
            dst,
            arg,
            d,
            count,
            acc,
            cnt,
        } = *x;

        for t in 0..n {
            let (o, i) = (at(dst, t), at(arg, t));
            self.val[o + 1] = self.val[o];
            self.vld[o + 1] = self.vld[i];
            if self.vld[i] {
                let x = self.val[i];
                let v = if self.st[cnt] == 0 {
                    d.wrap(x)
                } else {
                    d.wrap(self.st[acc] + x)
                };
                self.st[acc] = v;
                self.val[o + 1] = v;
                self.st[cnt] = (self.st[cnt] + 1) % count as i128;
            }
        }
    }
}

/// Running sum; state: `acc`, `cnt`.
#[derive(Clone, Debug)]
pub struct Scan {
    pub dst: u32,
    pub arg: u32,
    pub d: DType,
    pub count: u32,
    pub acc: usize,
    pub cnt: usize,
}

impl Scan {
    /// A running sum over `count` elements.
    pub(crate) fn op(dst: u32, d: DType, a: Bus, count: u32, st: &mut usize) -> Self {
        Scan {
            dst,
            arg: slot(a),
            d,
            count,
            acc: alloc(1, st),
            cnt: alloc(1, st),
        }
    }
}
