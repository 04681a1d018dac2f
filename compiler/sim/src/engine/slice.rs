//! Slices: an element passes when the selection picks its index.

use super::{advance, Engine};
use crate::flat::Slice;

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
