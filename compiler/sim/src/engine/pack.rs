//! Gearboxes: a queue filled in lane order, a group out per cycle.

use super::Engine;
use crate::flat::Pack;

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
