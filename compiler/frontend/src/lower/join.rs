//! `np.concatenate` and `np.stack`: arrays joined along an axis, in numpy's
//! result dtype. In hardware the joined stream takes each operand's elements in
//! the order the result has them, as they arrive (`merge`); the lowering says
//! when that order would need a frame's worth of buffering.

use super::{describe_ty, Lowerer, Node, Val};
use hissc_aop::{Inst, Type};
use hissc_diagnostics::{Code, Diagnostic, Span};

impl Lowerer<'_> {
    /// The arrays of a sequence argument, in one dtype (numpy's promotion).
    fn joined_operands(&mut self, seq: Val, what: &str, span: Span) -> Option<Vec<Node>> {
        let items = match seq {
            Val::Tuple(items) if !items.is_empty() => items,
            Val::Poison => return None,
            other => {
                let got = self.describe(&other);
                self.error(
                    Diagnostic::error(
                        Code::ARGUMENTS,
                        format!("`np.{what}` takes a list or tuple of arrays, not {got}"),
                    )
                    .primary(span, "not a sequence of arrays")
                    .help(format!("write `np.{what}([a, b], axis=0)`")),
                );
                return None;
            }
        };
        let mut nodes = Vec::new();
        for it in &items {
            match it {
                Val::Node(n) if !self.k.ty(n.v).shape.is_empty() => nodes.push(*n),
                Val::Poison => return None,
                other => {
                    let got = self.describe(other);
                    self.error(
                        Diagnostic::error(
                            Code::ARGUMENTS,
                            format!("`np.{what}` joins arrays, not {got}"),
                        )
                        .primary(
                            span,
                            "numpy raises ValueError for a zero-dimensional operand",
                        )
                        .help("join arrays of one or more dimensions"),
                    );
                    return None;
                }
            }
        }
        // numpy's result dtype over all operands
        let mut acc = Val::Node(nodes[0]);
        for n in &nodes[1..] {
            let (d, weak) = self.promote(&acc, &Val::Node(*n), span)?;
            let c = self.constant(0, d, span);
            acc = Val::Node(Node { v: c.v, weak });
        }
        let d = self.k.dtype(match acc {
            Val::Node(n) => n.v,
            _ => return None,
        });
        nodes
            .into_iter()
            .map(|n| self.coerce(&Val::Node(n), d, span))
            .collect()
    }

    fn join_axis(&mut self, axis: Option<&(Val, Span)>, ndim: usize, what: &str) -> Option<usize> {
        let Some((v, s)) = axis else {
            return Some(0);
        };
        match v {
            Val::Int(a) if (-(ndim as i128)..ndim as i128).contains(a) => Some(if *a < 0 {
                (*a + ndim as i128) as usize
            } else {
                *a as usize
            }),
            Val::Poison => None,
            _ => {
                self.error(
                    Diagnostic::error(Code::ARGUMENTS, format!("`axis` of `np.{what}` must be an integer constant in [-{ndim}, {ndim})"))
                        .primary(*s, "numpy raises AxisError"),
                );
                None
            }
        }
    }

    /// `np.concatenate(seq, axis=0)`.
    pub(crate) fn concatenate(&mut self, seq: Val, axis: Option<&(Val, Span)>, span: Span) -> Val {
        let Some(nodes) = self.joined_operands(seq, "concatenate", span) else {
            return Val::Poison;
        };
        let first = self.k.ty(nodes[0].v).clone();
        let Some(ax) = self.join_axis(axis, first.shape.len(), "concatenate") else {
            return Val::Poison;
        };
        let mut shape = first.shape.clone();
        shape[ax] = 0;
        for n in &nodes {
            let t = self.k.ty(n.v).clone();
            let fits = t.shape.len() == first.shape.len()
                && t.shape
                    .iter()
                    .zip(&first.shape)
                    .enumerate()
                    .all(|(i, (a, b))| i == ax || a == b);
            if !fits {
                return self.error(
                    Diagnostic::error(
                        Code::SHAPE,
                        format!(
                            "`np.concatenate` along axis {ax} of {} and {}",
                            describe_ty(&first),
                            describe_ty(&t)
                        ),
                    )
                    .primary(
                        span,
                        "numpy raises ValueError: the other dimensions must match",
                    ),
                );
            }
            shape[ax] += t.shape[ax];
        }
        let vs = nodes.iter().map(|n| n.v).collect();
        self.push(
            Inst::Concat(vs, ax as u32),
            Type::array(first.dtype, shape),
            span,
            false,
        )
    }

    /// `np.stack(seq, axis=0)`: a new axis, the operands of one shape joined along it.
    pub(crate) fn stack(&mut self, seq: Val, axis: Option<&(Val, Span)>, span: Span) -> Val {
        let Some(nodes) = self.joined_operands(seq, "stack", span) else {
            return Val::Poison;
        };
        let first = self.k.ty(nodes[0].v).clone();
        if let Some(t) = nodes
            .iter()
            .map(|n| self.k.ty(n.v).clone())
            .find(|t| t.shape != first.shape)
        {
            return self.error(
                Diagnostic::error(
                    Code::SHAPE,
                    format!(
                        "`np.stack` of {} and {}",
                        describe_ty(&first),
                        describe_ty(&t)
                    ),
                )
                .primary(
                    span,
                    "numpy raises ValueError: all input arrays must have the same shape",
                ),
            );
        }
        let Some(ax) = self.join_axis(axis, first.shape.len() + 1, "stack") else {
            return Val::Poison;
        };
        let mut one = first.shape.clone();
        one.insert(ax, 1);
        let vs: Vec<_> = nodes
            .iter()
            .map(|n| {
                self.k.push(
                    Inst::Reshape(n.v),
                    Type::array(first.dtype, one.clone()),
                    span,
                )
            })
            .collect();
        let mut shape = first.shape.clone();
        shape.insert(ax, nodes.len() as u32);
        self.push(
            Inst::Concat(vs, ax as u32),
            Type::array(first.dtype, shape),
            span,
            false,
        )
    }
}
