//! Reductions: accumulators per output in flight (`Reduce`), or one over the whole frame (`ReduceAll`).

#![allow(missing_docs)] // the state fields are named in each struct's doc

use super::{advance, Engine};
use crate::slots::{alloc, slot};
use hissc_aop::types::numel;
use hissc_aop::DType;
use hissc_aop::{semantics, ReduceOp};

impl Engine {
    /// One `Reduce` process over cycles `0..n` of the block.
    pub(super) fn reduce(&mut self, x: &Reduce, n: usize) {
        let row = self.row;
        // cell t of bus `s`
        let at = |s: u32, t: usize| s as usize * row + t;
        let Reduce {
            dst,
            arg,
            op,
            d,
            shape,
            reduced,
            line,
            flat,
            idx,
            acc,
            late,
        } = x;

        for t in 0..n {
            let (o, i) = (at(*dst, t), at(*arg, t));
            self.val[o + 1] = self.val[o];
            self.vld[o + 1] = false;
            if let Some(l) = *late {
                // the result of the previous cycle leaves now
                if self.st[l + 1] != 0 {
                    self.val[o + 1] = self.st[l];
                    self.vld[o + 1] = true;
                    self.st[l + 1] = 0;
                }
            }
            if !self.vld[i] {
                continue;
            }
            let x = self.val[i];
            let (mut first, mut last, mut addr, mut pos) = (true, true, 0usize, 0i128);
            for i in 0..shape.len() {
                let k = self.st[idx + i];
                if reduced[i] {
                    first &= k == 0;
                    last &= k as u32 + 1 == shape[i];
                    if !*flat {
                        pos = k;
                    }
                } else {
                    addr += k as usize * line[i] as usize;
                }
                if *flat {
                    pos = pos * shape[i] as i128 + k;
                }
            }
            let (a, ai) = (acc + 2 * addr, acc + 2 * addr + 1);
            let arg_op = matches!(op, ReduceOp::ArgMax | ReduceOp::ArgMin);
            let (value, index) = if arg_op {
                if first || semantics::arg_better(*op, x, self.st[a]) {
                    (x, pos)
                } else {
                    (self.st[a], self.st[ai])
                }
            } else {
                let prev = if first {
                    semantics::reduce_identity(*op, *d)
                } else {
                    self.st[a]
                };
                (semantics::reduce_step(*op, *d, prev, x), 0)
            };
            self.st[a] = value;
            self.st[ai] = index;
            if last {
                let out = if arg_op { index } else { value };
                match *late {
                    Some(l) => {
                        self.st[l] = out;
                        self.st[l + 1] = 1;
                    }
                    None => {
                        self.val[o + 1] = out;
                        self.vld[o + 1] = true;
                    }
                }
            }
            advance(&mut self.st[*idx..*idx + shape.len()], shape);
        }
    }

    /// One `ReduceAll` process over cycles `0..n` of the block.
    pub(super) fn reduce_all(&mut self, x: &ReduceAll, n: usize) {
        let row = self.row;
        // cell t of bus `s`
        let at = |s: u32, t: usize| s as usize * row + t;
        let ReduceAll {
            dst,
            arg,
            op,
            d,
            n: count,
            acc,
        } = *x;

        let (mut k, mut v) = (self.st[acc + 1], self.st[acc]);
        for t in 0..n {
            let (o, i) = (at(dst, t), at(arg, t));
            self.val[o + 1] = self.val[o];
            self.vld[o + 1] = false;
            if self.vld[i] {
                let prev = if k == 0 {
                    semantics::reduce_identity(op, d)
                } else {
                    v
                };
                v = semantics::reduce_step(op, d, prev, self.val[i]);
                k += 1;
                if k == count {
                    k = 0;
                    self.val[o + 1] = v;
                    self.vld[o + 1] = true;
                }
            }
        }
        self.st[acc] = v;
        self.st[acc + 1] = k;
    }
}

/// Reduction over the axes marked `reduced` of a logical `shape`; state: one
/// counter per axis at `idx`, and (value, index) accumulators at `acc`, one per
/// output in flight (`line` gives each kept axis's stride among them).
#[derive(Clone, Debug)]
pub struct Reduce {
    pub dst: u32,
    pub arg: u32,
    pub op: ReduceOp,
    pub d: DType,
    pub shape: Vec<u32>,
    pub reduced: Vec<bool>,
    pub line: Vec<u32>,
    pub flat: bool,
    pub idx: usize,
    pub acc: usize,
    pub late: Option<usize>,
}

/// A reduction of every element of a frame into one value (not an argmax or
/// argmin): state: the accumulator at `acc`, the element count after it.
#[derive(Clone, Debug)]
pub struct ReduceAll {
    pub dst: u32,
    pub arg: u32,
    pub op: ReduceOp,
    pub d: DType,
    pub n: i128,
    pub acc: usize,
}

/// What a reduction flattens to: one accumulator per line of the stream, or
/// one over the whole stream.
pub(crate) enum Reduction {
    /// Per line.
    Lines(Reduce),
    /// Over the whole stream.
    All(ReduceAll),
}

impl Reduce {
    /// A reduction of `shape` over `axes`: a whole-stream accumulator
    /// ([`ReduceAll`]) or one per line ([`Reduce`]), as
    /// [`hissc_spn::proc::reduce`] lays them out.
    pub(crate) fn op(dst: u32, p: &hissc_spn::ir::Reduce, st: &mut usize) -> Reduction {
        let (op, d, a) = (p.op, p.dtype, p.arg);
        let (shape, axes) = (&p.shape[..], &p.axes[..]);
        let reduced: Vec<bool> = (0..shape.len())
            .map(|i| axes.contains(&(i as u32)))
            .collect();
        let (lines, line) = hissc_spn::proc::reduce::lines(shape, axes);
        let idx = alloc(shape.len(), st);
        let acc = alloc(2 * lines as usize, st);
        // with block RAM accumulators the output is registered once more
        let late = hissc_spn::proc::reduce::in_ram(shape, axes).then(|| alloc(2, st));
        let flat = axes.len() == shape.len();
        if flat && !matches!(op, ReduceOp::ArgMax | ReduceOp::ArgMin) {
            // the common case: one accumulator over the whole stream
            return Reduction::All(ReduceAll {
                dst,
                arg: slot(a),
                op,
                d,
                n: numel(shape) as i128,
                acc: alloc(2, st),
            });
        }
        Reduction::Lines(Reduce {
            dst,
            arg: slot(a),
            op,
            d,
            shape: shape.to_vec(),
            reduced,
            line,
            flat,
            idx,
            acc,
            late,
        })
    }
}
