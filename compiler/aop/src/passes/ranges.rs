//! `ranges`: interval analysis — the values every element of every IR value can take.
//!
//! Used to choose hardware widths and to prove what the contract asks to be
//! proven (bin indices in range). The analysis is sound: for every input within
//! its declared range, every element lies in its value's interval. Where numpy
//! may wrap, the interval is the whole dtype.
//!
//! ```text
//! v0: u16[32, 32] = input frame        ; [0, 65535]
//! v2: u16[32, 32] = where v1, v0, v3   ; [0, 65535]
//! v4: u64 = reduce sum v2              ; [0, 67107840]  (1024 * 65535: 27 bits, not 64)
//! ```

use crate::ir::{BinaryOp, CmpOp, Inst, Kernel, ReduceOp, UnaryOp, Value};
use crate::types::{numel, DType, Interval};
use cranelift_entity::SecondaryMap;

/// Intervals for every value.
pub type Ranges = SecondaryMap<Value, Interval>;

fn fit(d: DType, exact: Option<Interval>) -> Interval {
    match exact {
        Some(i) if i.within(Interval::of(d)) => i,
        _ => Interval::of(d),
    }
}

fn hull(vals: &[Option<i128>]) -> Option<Interval> {
    let mut lo = i128::MAX;
    let mut hi = i128::MIN;
    for v in vals {
        let v = (*v)?;
        lo = lo.min(v);
        hi = hi.max(v);
    }
    Some(Interval::new(lo, hi))
}

/// Computes the interval of every value.
pub fn ranges(k: &Kernel) -> Ranges {
    let mut g = Growing::default();
    g.extend(k);
    g.r
}

/// The ranges of a kernel that only grows (the frontend appends instructions
/// as it lowers): each call computes the instructions added since the last,
/// so asking for a value's range does not re-run the analysis.
#[derive(Clone, Debug)]
pub struct Growing {
    r: Ranges,
    done: usize,
}

impl Default for Growing {
    fn default() -> Self {
        Growing {
            r: SecondaryMap::with_default(Interval::point(0)),
            done: 0,
        }
    }
}

impl Growing {
    /// The range of `v` in `k` (the kernel these ranges have followed).
    pub fn of(&mut self, k: &Kernel, v: Value) -> Interval {
        self.extend(k);
        self.r[v]
    }

    /// Computes the ranges of the instructions `k` gained.
    pub fn extend(&mut self, k: &Kernel) {
        let r = &mut self.r;
        for (v, d) in k.insts.iter().skip(self.done) {
            let dt = d.ty.dtype;
            let iv = match &d.inst {
                Inst::Input(i) => k.params[*i as usize].range,
                // any value of its dtype: a state starts from what the user gives
                Inst::State(_) => Interval::of(dt),
                Inst::Const(c) => Interval::point(*c),
                Inst::Cast(a) => {
                    let x = r[*a];
                    if dt == DType::Bool {
                        if x.lo > 0 || x.hi < 0 {
                            Interval::point(1)
                        } else if x == Interval::point(0) {
                            Interval::point(0)
                        } else {
                            Interval::new(0, 1)
                        }
                    } else {
                        fit(dt, Some(x))
                    }
                }
                Inst::Unary(op, a) => unary(*op, dt, r[*a]),
                // a square (`d * d`, `(x - 6) ** 2`) is never negative
                Inst::Binary(BinaryOp::Mul, a, b) if a == b && dt != DType::Bool => {
                    let x = r[*a];
                    let hi = x.lo.abs().max(x.hi.abs());
                    let lo = if x.lo <= 0 && x.hi >= 0 {
                        0
                    } else {
                        x.lo.abs().min(x.hi.abs())
                    };
                    fit(
                        dt,
                        lo.checked_mul(lo)
                            .zip(hi.checked_mul(hi))
                            .map(|(l, h)| Interval::new(l, h)),
                    )
                }
                Inst::Binary(op, a, b) => binary(*op, dt, r[*a], r[*b]),
                Inst::Compare(op, a, b) => match decide(*op, r[*a], r[*b]) {
                    Some(c) => Interval::point(c as i128),
                    None => Interval::new(0, 1),
                },
                Inst::Where(_, a, b) => r[*a].union(r[*b]),
                Inst::Broadcast(a) => r[*a],
                Inst::Reduce(op, a, _) => {
                    let n = (numel(&k.ty(*a).shape) / numel(&d.ty.shape).max(1)) as i128;
                    let x = r[*a];
                    match op {
                        ReduceOp::Sum => fit(dt, sum_exact(x, n)),
                        ReduceOp::Min | ReduceOp::Max => x,
                        ReduceOp::Any | ReduceOp::All => Interval::new(0, 1),
                        ReduceOp::CountNonzero => Interval::new(0, n),
                        ReduceOp::ArgMax | ReduceOp::ArgMin => Interval::new(0, (n - 1).max(0)),
                    }
                }
                Inst::Reshape(a) | Inst::Slice(a, _) => r[*a],
                Inst::Table(values) => hull(&values.iter().map(|v| Some(*v)).collect::<Vec<_>>())
                    .unwrap_or(Interval::point(0)),
                Inst::Gather(t, i) => {
                    let (ix, vals) = (
                        r[*i],
                        match &k.insts[*t].inst {
                            Inst::Table(v) => v.clone(),
                            _ => Vec::new(),
                        },
                    );
                    let lo = ix.lo.max(0) as usize;
                    let hi = (ix.hi.max(0) as usize).min(vals.len().saturating_sub(1));
                    hull(
                        &vals
                            .get(lo..=hi)
                            .unwrap_or(&[])
                            .iter()
                            .map(|v| Some(*v))
                            .collect::<Vec<_>>(),
                    )
                    .unwrap_or(r[*t])
                }
                Inst::Scan(a) => {
                    let x = r[*a];
                    let n = k.ty(*a).numel() as i128;
                    let exact = sum_exact(x, n).map(|s| s.union(x));
                    fit(dt, exact)
                }
                Inst::Iota => Interval::new(0, (d.ty.numel() as i128 - 1).max(0)),
                Inst::Concat(vs, _) => vs
                    .iter()
                    .map(|v| r[*v])
                    .reduce(|a, b| a.union(b))
                    .unwrap_or(Interval::point(0)),
                Inst::Compress(a, _) => r[*a],
                Inst::Bincount(x, None, _, _) => Interval::new(0, k.ty(*x).numel() as i128),
                Inst::Bincount(..) => Interval::of(DType::U64),
            };
            r[v] = iv;
        }
        self.done = k.insts.len();
    }
}

fn unary(op: UnaryOp, d: DType, x: Interval) -> Interval {
    if op == UnaryOp::Not && d == DType::Bool {
        return Interval::new(0, 1);
    }
    fit(d, unary_exact(op, d, x))
}

fn binary(op: BinaryOp, d: DType, a: Interval, b: Interval) -> Interval {
    if d == DType::Bool {
        return Interval::new(0, 1);
    }
    fit(d, binary_exact(op, d, a, b))
}

/// The exact values of `op x` before numpy wraps them to `d`
/// (`None`: not known, assume anything).
pub fn unary_exact(op: UnaryOp, d: DType, x: Interval) -> Option<Interval> {
    Some(match op {
        UnaryOp::Neg => Interval::new(-x.hi, -x.lo),
        UnaryOp::Not if d == DType::Bool => Interval::new(0, 1),
        UnaryOp::Not => Interval::new(-x.hi - 1, -x.lo - 1),
        UnaryOp::Abs => {
            if x.lo >= 0 {
                x
            } else if x.hi <= 0 {
                Interval::new(-x.hi, -x.lo)
            } else {
                Interval::new(0, (-x.lo).max(x.hi))
            }
        }
    })
}

/// The exact values of `a op b` before numpy wraps them to `d`
/// (`None`: not known, assume anything).
pub fn binary_exact(op: BinaryOp, d: DType, a: Interval, b: Interval) -> Option<Interval> {
    let bits = d.bits() as i128;
    match op {
        BinaryOp::Add => hull(&[a.lo.checked_add(b.lo), a.hi.checked_add(b.hi)]),
        BinaryOp::Sub => hull(&[a.lo.checked_sub(b.hi), a.hi.checked_sub(b.lo)]),
        BinaryOp::Mul => hull(&[
            a.lo.checked_mul(b.lo),
            a.lo.checked_mul(b.hi),
            a.hi.checked_mul(b.lo),
            a.hi.checked_mul(b.hi),
        ]),
        BinaryOp::FloorDiv if b.lo == b.hi => {
            let c = b.lo;
            if c == 0 {
                Some(Interval::point(0))
            } else {
                let q = |x: i128| crate::semantics::binary(BinaryOp::FloorDiv, DType::I64, x, c);
                // exact floor division (no wrap here: MIN // -1 is caught by the hull)
                let qe = |x: i128| if c == -1 { -x } else { q(x) };
                hull(&[Some(qe(a.lo)), Some(qe(a.hi))])
            }
        }
        BinaryOp::Mod if b.lo == b.hi => {
            let c = b.lo;
            Some(if c == 0 {
                Interval::point(0)
            } else if c > 0 && a.lo >= 0 && a.hi < c {
                a
            } else if c > 0 {
                Interval::new(0, c - 1)
            } else {
                Interval::new(c + 1, 0)
            })
        }
        BinaryOp::FloorDiv | BinaryOp::Mod => None,
        BinaryOp::And if a.lo >= 0 || b.lo >= 0 => {
            let hi = match (a.lo >= 0, b.lo >= 0) {
                (true, true) => a.hi.min(b.hi),
                (true, false) => a.hi,
                _ => b.hi,
            };
            Some(Interval::new(0, hi))
        }
        BinaryOp::Or | BinaryOp::Xor if a.lo >= 0 && b.lo >= 0 => {
            let m = a.hi.max(b.hi);
            let top = 128 - m.leading_zeros();
            let lo = if op == BinaryOp::Or {
                a.lo.max(b.lo)
            } else {
                0
            };
            Some(Interval::new(lo, (1i128 << top) - 1))
        }
        // bitwise ops of values in range stay in range
        BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => Some(Interval::of(d)),
        BinaryOp::Shl if b.lo == b.hi => {
            let s = b.lo;
            if s < 0 || s >= bits {
                Some(Interval::point(0))
            } else {
                let m = 1i128 << s;
                hull(&[a.lo.checked_mul(m), a.hi.checked_mul(m)])
            }
        }
        BinaryOp::Shl => None,
        BinaryOp::Shr => {
            // Shifting by a negative amount or by the width or more gives 0 or -1,
            // which is also what a shift by 127 gives for values in range.
            let clamp = |s: i128| if s < 0 || s >= bits { 127 } else { s as u32 };
            let cands: Vec<Option<i128>> = [a.lo, a.hi]
                .into_iter()
                .flat_map(|x| [x >> clamp(b.lo), x >> clamp(b.hi)])
                .chain(if b.lo < 0 || b.hi >= bits {
                    vec![a.lo >> 127, a.hi >> 127]
                } else {
                    vec![]
                })
                .chain(if b.lo <= 0 && b.hi >= 0 {
                    vec![a.lo, a.hi]
                } else {
                    vec![]
                })
                .map(Some)
                .collect();
            hull(&cands)
        }
        BinaryOp::Min => Some(Interval::new(a.lo.min(b.lo), a.hi.min(b.hi))),
        BinaryOp::Max => Some(Interval::new(a.lo.max(b.lo), a.hi.max(b.hi))),
    }
}

/// The exact sum of `n` values of `x` (`None` if too large to know).
pub fn sum_exact(x: Interval, n: i128) -> Option<Interval> {
    x.lo.checked_mul(n)
        .zip(x.hi.checked_mul(n))
        .map(|(lo, hi)| Interval::new(lo.min(hi), lo.max(hi)))
}

/// The outcome of `a op b` for every `a` in `x` and `b` in `y`, if it is the
/// same for all of them.
pub fn decide(op: CmpOp, x: Interval, y: Interval) -> Option<bool> {
    let lt = if x.hi < y.lo {
        Some(true)
    } else if x.lo >= y.hi {
        Some(false)
    } else {
        None
    };
    let gt = if x.lo > y.hi {
        Some(true)
    } else if x.hi <= y.lo {
        Some(false)
    } else {
        None
    };
    let eq = if x.lo == x.hi && y.lo == y.hi && x.lo == y.lo {
        Some(true)
    } else if x.hi < y.lo || y.hi < x.lo {
        Some(false)
    } else {
        None
    };
    match op {
        CmpOp::Lt => lt,
        CmpOp::Ge => lt.map(|b| !b),
        CmpOp::Gt => gt,
        CmpOp::Le => gt.map(|b| !b),
        CmpOp::Eq => eq,
        CmpOp::Ne => eq.map(|b| !b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::CmpOp;

    #[test]
    fn comparisons_with_disjoint_ranges_are_decided() {
        let u16s = Interval::new(0, 65535);
        assert_eq!(decide(CmpOp::Ge, u16s, Interval::point(0)), Some(true));
        assert_eq!(decide(CmpOp::Lt, u16s, Interval::point(0)), Some(false));
        assert_eq!(decide(CmpOp::Le, u16s, Interval::point(4096)), None);
        assert_eq!(decide(CmpOp::Le, u16s, Interval::point(65535)), Some(true));
        assert_eq!(decide(CmpOp::Gt, u16s, Interval::point(65535)), Some(false));
        assert_eq!(decide(CmpOp::Eq, u16s, Interval::point(-1)), Some(false));
        assert_eq!(decide(CmpOp::Ne, u16s, Interval::point(70000)), Some(true));
        assert_eq!(
            decide(CmpOp::Eq, Interval::point(3), Interval::point(3)),
            Some(true)
        );
        assert_eq!(decide(CmpOp::Eq, u16s, Interval::point(3)), None);
    }
}
