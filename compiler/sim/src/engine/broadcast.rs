//! Broadcasts: a stored short stream replayed to a larger shape.

use super::Engine;
use crate::flat::Broadcast;

impl Engine {
    /// One `Broadcast` process over cycles `0..n` of the block.
    pub(super) fn broadcast(&mut self, x: &Broadcast, n: usize) {
        let row = self.row;
        // cell t of bus `s`
        let at = |s: u32, t: usize| s as usize * row + t;
        let Broadcast {
            dst,
            arg,
            timing,
            mem,
            len,
            wcnt,
            rcnt,
            to,
            strides,
        } = x;

        for t in 0..n {
            let (o, i, tm) = (at(*dst, t), at(*arg, t), at(*timing, t));
            let w = self.st[*wcnt] as usize;
            let writing = self.vld[i];
            self.val[o + 1] = self.val[o];
            self.vld[o + 1] = self.vld[tm];
            if self.vld[tm] {
                let mut src = 0usize;
                for (k, s) in strides.iter().enumerate() {
                    src += self.st[rcnt + k] as usize * *s as usize;
                }
                self.val[o + 1] = if writing && w == src {
                    self.val[i]
                } else {
                    self.st[mem + src]
                };
                // advance the read counters, innermost axis first
                for k in (0..to.len()).rev() {
                    self.st[rcnt + k] += 1;
                    if self.st[rcnt + k] as u32 == to[k] {
                        self.st[rcnt + k] = 0;
                    } else {
                        break;
                    }
                }
            }
            if writing {
                self.st[mem + w] = self.val[i];
                self.st[*wcnt] = ((w + 1) % *len as usize) as i128;
            }
        }
    }
}
