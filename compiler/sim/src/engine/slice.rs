//! Slices: an element passes when the selection picks its index.

#![allow(missing_docs)] // the state fields are named in each struct's doc

use super::{advance, Engine};
use crate::slots::{alloc, slot};
use hissc_spn::Bus;

impl Engine {
    /// One `Slice` process over cycles `0..n` of the block.
    pub(super) fn slice(&mut self, x: &Slice, n: usize) {
        let row = self.row;
        // cell t of bus `s`
        let at = |s: u32, t: usize| s as usize * row + t;
        let Slice {
            dst,
            arg,
            shape,
            sel,
            idx,
        } = x;

        let (d, s) = (at(*dst, 1), at(*arg, 0));
        self.val.copy_within(s..s + n, d);
        for t in 0..n {
            let mut keep = false;
            if self.vld[s + t] {
                keep = (0..shape.len())
                    .all(|i| hissc_spn::proc::slice::picks(self.st[idx + i] as u32, sel[i]));
                advance(&mut self.st[*idx..*idx + shape.len()], shape);
            }
            self.vld[d + t] = keep;
        }
    }
}

/// Slice filter; state: one counter per axis at `idx`.
#[derive(Clone, Debug)]
pub struct Slice {
    pub dst: u32,
    pub arg: u32,
    pub shape: Vec<u32>,
    pub sel: Vec<(u32, u32, u32)>,
    pub idx: usize,
}

impl Slice {
    /// A basic slice of `shape`.
    pub(crate) fn op(
        dst: u32,
        a: Bus,
        shape: &[u32],
        sel: &[(u32, u32, u32)],
        st: &mut usize,
    ) -> Self {
        Slice {
            dst,
            arg: slot(a),
            shape: shape.to_vec(),
            sel: sel.to_vec(),
            idx: alloc(shape.len(), st),
        }
    }
}
