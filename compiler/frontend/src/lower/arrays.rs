//! Views, scans and bin counting: `reshape`, `ravel`, `cumsum`, `bincount`, `histogram`.

use super::{Lowerer, Node, Val};
use hissc_aop::{BinaryOp, DType, Inst, Type};
use hissc_diagnostics::{Code, Diagnostic, Span};
use rustpython_parser::ast;

impl Lowerer<'_> {
    /// `a.reshape(d0, d1, ...)` / `a.reshape((d0, d1))`, one `-1` allowed: a view.
    pub(crate) fn reshape(&mut self, n: Node, dims: Vec<(Val, Span)>, span: Span) -> Val {
        let items: Vec<(Val, Span)> = match dims.as_slice() {
            [(Val::Tuple(t), s)] => t.iter().map(|v| (v.clone(), *s)).collect(),
            _ => dims,
        };
        let ty = self.k.ty(n.v).clone();
        let total = ty.numel() as i128;
        let mut shape: Vec<i128> = Vec::new();
        for (v, s) in &items {
            match v {
                Val::Int(i) if *i >= 1 || *i == -1 => shape.push(*i),
                _ => {
                    return self.error(
                        Diagnostic::error(
                            Code::NOT_CONSTANT,
                            "the new shape must be positive integer constants (one may be -1)",
                        )
                        .primary(*s, "not a valid dimension"),
                    )
                }
            }
        }
        let known: i128 = shape.iter().filter(|d| **d > 0).product();
        let unknown = shape.iter().filter(|d| **d == -1).count();
        let fits = match unknown {
            0 => known == total,
            1 => known > 0 && total % known == 0,
            _ => false,
        };
        if !fits || shape.len() > 4 {
            let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            return self.error(
                Diagnostic::error(
                    Code::SHAPE,
                    format!(
                        "cannot reshape an array of size {total} into shape ({})",
                        dims.join(", ")
                    ),
                )
                .primary(span, "numpy raises ValueError"),
            );
        }
        let new: Vec<u32> = shape
            .iter()
            .map(|&d| {
                if d == -1 {
                    (total / known) as u32
                } else {
                    d as u32
                }
            })
            .collect();
        Val::Node(self.reshaped(n, new, false, span))
    }

    /// `n`'s elements in the shape `new`: numpy's view where it can keep the
    /// memory, or a new array (`copy`: `flatten`, a `ravel` that is not a view).
    pub(crate) fn reshaped(&mut self, n: Node, new: Vec<u32>, copy: bool, span: Span) -> Node {
        let ty = self.k.ty(n.v).clone();
        if new == ty.shape && !copy {
            return Node { weak: false, ..n };
        }
        let v = self
            .k
            .push(Inst::Reshape(n.v), Type::array(ty.dtype, new.clone()), span);
        if !copy {
            self.record_view(n.v, super::alias::Step::Reshape(new), v);
        }
        Node { v, weak: false }
    }

    /// `np.cumsum(a)` (running sums of the flattened array, numpy's sum dtype)
    /// or `np.cumsum(a, axis=LAST)`: running sums along each row of the last
    /// axis, the flat running sums less each row's start (what the rows before
    /// summed to), which is exact modulo the dtype as numpy's own wrapping is.
    pub(crate) fn cumsum(&mut self, a: Val, axis: Option<(Val, Span)>, span: Span) -> Val {
        let Val::Node(n) = a else {
            return self.operand_error(&a, span);
        };
        let ty = self.k.ty(n.v).clone();
        let d = ty.dtype.sum_dtype();
        let Some(x) = self.coerce(&Val::Node(n), d, span) else {
            return Val::Poison;
        };
        let rank = ty.shape.len() as i128;
        let along = match axis {
            None | Some((Val::None, _)) => None,
            Some((Val::Int(i), s)) => {
                let j = if i < 0 { i + rank } else { i };
                if !(0..rank).contains(&j) {
                    return self.error(
                        Diagnostic::error(
                            Code::ARGUMENTS,
                            format!("axis {i} is out of bounds for an array of {rank} dimensions"),
                        )
                        .primary(s, "numpy raises AxisError"),
                    );
                }
                Some((j as usize, s))
            }
            Some((Val::Poison, _)) => return Val::Poison,
            Some((_, s)) => {
                return self.error(
                    Diagnostic::error(Code::NOT_CONSTANT, "`axis` must be an integer constant")
                        .primary(s, "not constant"),
                )
            }
        };
        let flat = vec![ty.numel() as u32];
        let scan = self.k.push(Inst::Scan(x.v), Type::array(d, flat), span);
        let Some((axis, axis_span)) = along else {
            return Val::Node(Node {
                v: scan,
                weak: false,
            });
        };
        if rank == 1 {
            return Val::Node(Node {
                v: scan,
                weak: false,
            });
        }
        if axis + 1 != rank as usize {
            return self.error(
                Diagnostic::error(
                    Code::NOT_STREAMABLE,
                    format!("`np.cumsum` along axis {axis} of {rank} runs down the columns"),
                )
                .primary(axis_span, "not the last axis")
                .help("hissc streams running sums along the rows (the last axis, `axis=-1`) or over the whole frame (no `axis`)"),
            );
        }
        // rows of the last axis: the flat running sums, less each row's start
        let w = *ty.shape.last().expect("rank >= 2");
        let rows = ty.numel() as u32 / w.max(1);
        let sums = self.reshaped(
            Node {
                v: scan,
                weak: false,
            },
            vec![rows, w],
            false,
            span,
        );
        let xs = self.reshaped(x, vec![rows, w], false, span);
        let first = vec![(0, 1, rows), (0, 1, 1)];
        let col = Type::array(d, vec![rows, 1]);
        let sum0 = self.push(Inst::Slice(sums.v, first.clone()), col.clone(), span, false);
        let x0 = self.push(Inst::Slice(xs.v, first), col, span, false);
        let start = self.arith(BinaryOp::Sub, sum0, x0, span);
        let rowwise = self.arith(BinaryOp::Sub, Val::Node(sums), start, span);
        match rowwise {
            Val::Node(r) => Val::Node(self.reshaped(r, ty.shape.clone(), false, span)),
            other => other,
        }
    }

    /// `np.bincount(x, weights=w, minlength=N)` with `0 <= x < N` proven.
    pub(crate) fn bincount(
        &mut self,
        x: (Val, Span),
        w: Option<(Val, Span)>,
        minlength: Option<(Val, Span)>,
        span: Span,
    ) -> Val {
        let Val::Node(mut xn) = x.0 else {
            return self.operand_error(&x.0, x.1);
        };
        // numpy counts booleans as the bins 0 and 1 (bool casts safely to int64)
        if self.k.dtype(xn.v) == DType::Bool {
            xn = match self.coerce(&Val::Node(xn), DType::U8, x.1) {
                Some(n) => n,
                None => return Val::Poison,
            };
        }
        let xt = self.k.ty(xn.v).clone();
        if xt.shape.len() != 1 {
            return self.error(
                Diagnostic::error(
                    Code::SHAPE,
                    format!(
                        "`np.bincount` takes a 1-d array, this one has {} dimensions",
                        xt.shape.len()
                    ),
                )
                .primary(x.1, "numpy raises ValueError")
                .help("flatten it with `.ravel()`"),
            );
        }
        if xt.dtype == DType::U64 {
            return self.error(
                Diagnostic::error(Code::DTYPE, "`np.bincount` cannot take uint64 bin indices")
                    .primary(
                        x.1,
                        "numpy raises TypeError: uint64 does not cast safely to int64",
                    )
                    .help("cast the indices first, e.g. `.astype(np.int64)`"),
            );
        }
        let n = match minlength {
            Some((Val::Int(m), _)) if (1..=hissc_aop::limits::MAX_BINS).contains(&m) => m as u32,
            Some((_, s)) => {
                return self.error(
                    Diagnostic::error(
                        Code::NOT_CONSTANT,
                        format!(
                            "`minlength` must be a positive integer constant (at most {})",
                            hissc_aop::limits::MAX_BINS
                        ),
                    )
                    .primary(s, "not a valid constant"),
                )
            }
            None => {
                return self.error(
                    Diagnostic::error(
                        Code::BINCOUNT_RANGE,
                        "`np.bincount` needs `minlength=N` in a kernel",
                    )
                    .primary(span, "the number of bins would depend on the data")
                    .help("give `minlength=N` and make sure `0 <= x < N`"),
                )
            }
        };
        let r = self.range(xn.v);
        if r.lo < 0 || r.hi >= n as i128 {
            let why = if r.lo < 0 {
                "numpy raises ValueError for negative bins".to_string()
            } else {
                format!("numpy would return more than {n} bins for larger values")
            };
            return self.error(
                Diagnostic::error(Code::BINCOUNT_RANGE, format!("the bin index is not proven to be in [0, {n})"))
                    .primary(x.1, format!("hissc only knows it is in [{}, {}]", r.lo, r.hi))
                    .note(why)
                    .help(format!("clip the index, e.g. `np.minimum(x, {})`, shift it, or use a range type for the input", n - 1)),
            );
        }
        let wv = match w {
            None | Some((Val::None, _)) => None,
            Some((Val::Node(wn), ws)) => {
                let wt = self.k.ty(wn.v).clone();
                if wt.shape != xt.shape {
                    return self.error(
                        Diagnostic::error(
                            Code::SHAPE,
                            "`weights` must have the shape of the bin indices",
                        )
                        .primary(ws, format!("shape {:?}, indices {:?}", wt.shape, xt.shape)),
                    );
                }
                if wt.dtype == DType::U64 || wt.dtype == DType::I64 || wt.dtype == DType::Bool {
                    return self.error(
                        Diagnostic::error(
                            Code::DTYPE,
                            format!(
                                "`weights` of dtype {} are not supported",
                                wt.dtype.numpy_name()
                            ),
                        )
                        .primary(ws, "use an integer dtype of at most 32 bits"),
                    );
                }
                let wr = self.range(wn.v);
                let bound = wr
                    .lo
                    .abs()
                    .max(wr.hi.abs())
                    .saturating_mul(wt.numel() as i128);
                if bound >= hissc_aop::limits::FLOAT_EXACT {
                    return self.error(
                        Diagnostic::error(Code::BINCOUNT_RANGE, "the weighted sums are not proven to stay below 2**53")
                            .primary(ws, format!("{} weights in [{}, {}] could sum to {bound}", wt.numel(), wr.lo, wr.hi))
                            .note("numpy sums weights in float64, which is exact only below 2**53; hissc sums exact integers and must give the same values")
                            .help("narrow the weights (a range type, a mask or a shift)"),
                    );
                }
                Some(wn.v)
            }
            Some((other, ws)) => {
                let what = self.describe(&other);
                return self.error(
                    Diagnostic::error(
                        Code::ARGUMENTS,
                        format!("`weights` must be an integer array, not {what}"),
                    )
                    .primary(ws, "not an array"),
                );
            }
        };
        let d = if wv.is_some() { DType::F64 } else { DType::I64 };
        self.push(
            Inst::Bincount(xn.v, wv, None, n),
            Type::array(d, vec![n]),
            span,
            false,
        )
    }

    /// `np.histogram(a, bins=B, range=(lo, hi))`: its counts (the edges are floats).
    pub(crate) fn histogram(
        &mut self,
        a: Val,
        bins: Option<(Val, Span)>,
        range: Option<(Val, Span)>,
        span: Span,
    ) -> Val {
        let bad_range = |this: &mut Self, s: Span| {
            this.error(
                Diagnostic::error(Code::ARGUMENTS, "`np.histogram` needs integer `range=(lo, hi)` with `lo < hi` and `(hi - lo) % bins == 0`")
                    .primary(s, "bin edges would not be integers")
                    .note("with integer edges numpy's float bins are exact, and hissc gives the same counts"),
            )
        };
        let (b, lo, hi) =
            match (bins, range) {
                (Some((Val::Int(b), _)), Some((Val::Tuple(r), rs))) if r.len() == 2 => {
                    match (&r[0], &r[1]) {
                        (Val::Int(lo), Val::Int(hi))
                            if b >= 1
                                && lo < hi
                                && (hi - lo) % b == 0
                                && b <= hissc_aop::limits::MAX_BINS =>
                        {
                            (b, *lo, *hi)
                        }
                        _ => return bad_range(self, rs),
                    }
                }
                _ => return self.error(
                    Diagnostic::error(
                        Code::ARGUMENTS,
                        "`np.histogram` needs constant `bins=B` and `range=(lo, hi)` in a kernel",
                    )
                    .primary(span, "bins and range must be compile-time constants"),
                ),
            };
        let Val::Node(an) = a else {
            return self.operand_error(&a, span);
        };
        let r = self.range(an.v);
        if r.hi > i64::MAX as i128 {
            return self.error(
                Diagnostic::error(
                    Code::DTYPE,
                    "`np.histogram` of uint64 values beyond the int64 range is not supported",
                )
                .primary(span, "values may exceed 2**63"),
            );
        }
        let flat = match self.reshape(an, vec![(Val::Int(-1), span)], span) {
            Val::Node(f) => f,
            other => return other,
        };
        let Some(x) = self.coerce(&Val::Node(flat), DType::I64, span) else {
            return Val::Poison;
        };
        let x = Val::Node(Node { weak: false, ..x });
        let w = (hi - lo) / b;
        let shifted = self.arith(BinaryOp::Sub, x.clone(), Val::Int(lo), span);
        let bin = self.arith(BinaryOp::FloorDiv, shifted, Val::Int(w), span);
        let bin = self.arith(BinaryOp::Max, bin, Val::Int(0), span);
        let bin = self.arith(BinaryOp::Min, bin, Val::Int(b - 1), span);
        let ge = self.compare(ast::CmpOp::GtE, x.clone(), Val::Int(lo), span);
        let le = self.compare(ast::CmpOp::LtE, x, Val::Int(hi), span);
        let mask = self.arith(BinaryOp::And, ge, le, span);
        let (Val::Node(bin), Val::Node(mask)) = (bin, mask) else {
            return Val::Poison;
        };
        let counts = self.push(
            Inst::Bincount(bin.v, None, Some(mask.v), b as u32),
            Type::array(DType::I64, vec![b as u32]),
            span,
            false,
        );
        Val::Tuple(vec![counts, Val::FloatEdges(span)])
    }
}
