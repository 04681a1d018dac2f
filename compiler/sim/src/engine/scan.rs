//! Scans: a running sum that restarts every frame.

use super::Engine;
use crate::flat::Scan;

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
