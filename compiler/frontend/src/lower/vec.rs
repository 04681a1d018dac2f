//! Variable-length outputs (`Vec[T, N]`): `a[mask]` and `np.flatnonzero(mask)`.
//!
//! A `Vec` is lowered as the whole array it selects from (`a`, or the flat
//! indices of the mask's shape) together with its mask: an elementwise
//! operation on selected elements gives, element for element, what the same
//! operation on the whole arrays gives, so every operation keeps its ordinary
//! instruction. [`Lowerer::vecs`] then follows the masks through the kernel,
//! rejects what numpy's shapes would not allow (two masks, a `Vec` with an array,
//! a reduction or slice of a `Vec`), and returns each `Vec` output as one
//! `compress` of the whole array by its mask.

use super::{describe_ty, Lowerer, Node, Val};
use hissc_aop::{DType, Inst, Type, Value};
use hissc_diagnostics::{Code, Diagnostic, Span};
use std::collections::HashMap;

impl Lowerer<'_> {
    /// `a[mask]`, `mask` a bool array of `a`'s shape.
    pub(crate) fn masked(&mut self, a: Node, m: Node, span: Span) -> Val {
        let (ta, tm) = (self.k.ty(a.v).clone(), self.k.ty(m.v).clone());
        if ta.shape != tm.shape {
            return self.error(
                Diagnostic::error(
                    Code::SHAPE,
                    format!(
                        "boolean index of shape {:?} does not match the indexed array's shape {:?}",
                        tm.shape, ta.shape
                    ),
                )
                .primary(span, "numpy raises IndexError")
                .help("index an array with a mask of its own shape, such as `frame[frame > t]`"),
            );
        }
        let v = self.k.push(Inst::Reshape(a.v), ta, span);
        self.vec_roots.insert(v, (m.v, span));
        Val::Node(Node { v, weak: false })
    }

    /// `np.flatnonzero(a)`: the flat indices (int64, C order) where `a` is nonzero.
    pub(crate) fn flatnonzero(&mut self, a: Val, span: Span) -> Val {
        let n = match a {
            Val::Node(n) if !self.k.ty(n.v).shape.is_empty() => n,
            Val::Poison => return Val::Poison,
            other => {
                let got = self.describe(&other);
                return self.error(
                    Diagnostic::error(Code::ARGUMENTS, format!("`np.flatnonzero` of {got}"))
                        .primary(span, "needs an array computed by the kernel")
                        .help("select from the frame: `np.flatnonzero(frame > t)`"),
                );
            }
        };
        let shape = self.k.ty(n.v).shape.clone();
        let mask = if self.k.dtype(n.v) == DType::Bool {
            n.v
        } else {
            let zero = self.constant(0, self.k.dtype(n.v), span);
            self.k.push(
                Inst::Compare(hissc_aop::CmpOp::Ne, n.v, zero.v),
                Type::array(DType::Bool, shape.clone()),
                span,
            )
        };
        let v = self
            .k
            .push(Inst::Iota, Type::array(DType::I64, shape), span);
        self.vec_roots.insert(v, (mask, span));
        Val::Node(Node { v, weak: false })
    }

    /// Follows the masks through the kernel (see the module's documentation) and
    /// makes each `Vec` output a `compress`.
    pub(crate) fn vecs(&mut self, ret_span: Span) {
        let mut mask: HashMap<Value, (Value, Span)> = HashMap::new();
        let n = self.k.insts.len();
        for i in 0..n {
            let v = Value::from_u32(i as u32);
            let d = self.k.insts[v].clone();
            let masked: Vec<(Value, (Value, Span))> = d
                .inst
                .args()
                .into_iter()
                .filter_map(|a| mask.get(&a).map(|m| (a, *m)))
                .collect();
            if let Some(&(m, made)) = self.vec_roots.get(&v) {
                if !masked.is_empty() || mask.contains_key(&m) {
                    self.error(
                        Diagnostic::error(Code::SHAPE, "a variable-length array is indexed again, or used as a mask")
                            .primary(made, "numpy's shapes would not match here")
                            .help("select once, from arrays of the frame's shape: `frame[(frame > a) & (frame < b)]`"),
                    );
                }
                mask.insert(v, (m, made));
                continue;
            }
            let Some(&(_, first)) = masked.first() else {
                continue;
            };
            match d.inst {
                Inst::Unary(..)
                | Inst::Binary(..)
                | Inst::Compare(..)
                | Inst::Where(..)
                | Inst::Cast(..) => {
                    if let Some((_, (_, other))) = masked.iter().find(|(_, (m, _))| *m != first.0) {
                        self.error(
                            Diagnostic::error(Code::SHAPE, "variable-length arrays selected by different masks are combined")
                                .primary(d.span, "their lengths differ from frame to frame")
                                .secondary(first.1, "one selection")
                                .secondary(*other, "another selection")
                                .help("combine values selected by one mask: `m = frame > t; frame[m] + gain[m]`"),
                        );
                    } else if let Some(a) = d
                        .inst
                        .args()
                        .into_iter()
                        .find(|a| !mask.contains_key(a) && !self.k.ty(*a).shape.is_empty())
                    {
                        let got = describe_ty(self.k.ty(a));
                        self.error(
                            Diagnostic::error(Code::SHAPE, format!("a variable-length array is combined with {got}"))
                                .primary(d.span, "numpy's shapes would not broadcast")
                                .secondary(first.1, "the variable-length array")
                                .help("select the other array with the same mask, or combine with a scalar"),
                        );
                    }
                    mask.insert(v, first);
                }
                _ => {
                    self.error(
                        Diagnostic::error(
                            Code::NOT_STREAMABLE,
                            "a variable-length array can only be combined elementwise and returned",
                        )
                        .primary(d.span, "used here")
                        .secondary(first.1, "selected here")
                        .help("reduce the whole array instead, e.g. `np.where(mask, a, 0).sum()` for the sum of the selected elements"),
                    );
                }
            }
        }
        let selected: Vec<(String, Span)> = self
            .k
            .states
            .iter()
            .zip(&self.k.updates)
            .filter_map(|(s, u)| mask.get(u).map(|&(_, made)| (s.name.clone(), made)))
            .collect();
        for (name, made) in selected {
            self.error(
                Diagnostic::error(
                    Code::STATE,
                    format!("state `{name}` is assigned a variable-length array"),
                )
                .primary(made, "selected here")
                .help("a state keeps a fixed shape: use `np.where(mask, new, old)`"),
            );
        }
        for i in 0..self.k.outputs.len() {
            let o = self.k.outputs[i];
            let cap = self.vec_outputs.get(i).copied().flatten();
            match (mask.get(&o), cap) {
                (Some(&(m, made)), Some(cap)) => {
                    let most = self.k.ty(m).numel() as u32;
                    if cap < most {
                        self.error(
                            Diagnostic::error(
                                Code::RETURN_TYPE,
                                format!("this Vec can hold {most} elements, its annotation only {cap}"),
                            )
                            .primary(made, format!("selects up to {most} elements"))
                            .help(format!("annotate `Vec[..., {most}]`: hissc keeps every selected element, as numpy does")),
                        );
                        continue;
                    }
                    let ty = Type::array(self.k.dtype(o), vec![most]);
                    let span = self.k.insts[o].span;
                    self.k.outputs[i] = self.k.push(Inst::Compress(o, m), ty, span);
                }
                (Some(&(_, made)), None) => {
                    self.error(
                        Diagnostic::error(Code::RETURN_TYPE, "the kernel returns a variable-length array where its annotation says `Array`")
                            .primary(ret_span, "its length depends on the data")
                            .secondary(made, "selected here")
                            .help("annotate the output `Vec[T, N]`"),
                    );
                }
                (None, Some(_)) => {
                    let got = describe_ty(self.k.ty(o));
                    self.error(
                        Diagnostic::error(Code::RETURN_TYPE, format!("the annotation says `Vec`, the kernel returns {got}"))
                            .primary(ret_span, "not a selection")
                            .help("a Vec output is made by `a[mask]` or `np.flatnonzero(mask)`; annotate an array `Array[...]`"),
                    );
                }
                (None, None) => {}
            }
        }
    }
}
